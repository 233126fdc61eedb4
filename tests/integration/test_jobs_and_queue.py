"""Jobs on demand, the work queue's handler, the local pump, and the dead-letter redrive."""

import json

import boto3
import pytest

from chalicelib.core import tasks
from devstack import cloud
from devstack.pump import Pump

done: list[dict] = []


def remember(payload: dict) -> None:
    if payload.get("explode"):
        raise ValueError("this chunk cannot be done")
    done.append(payload)


@pytest.fixture(autouse=True)
def remembering_task():
    done.clear()
    tasks.register_task("remember", remember)
    yield
    done.clear()


@pytest.fixture
def sqs(aws):
    return boto3.client("sqs", region_name=cloud.REGION)


def waiting(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_an_unknown_job_is_404_naming_the_jobs_there_are(client, token):
    response = client.http.post("/jobs/make-coffee/run", headers=token("admin"))
    assert response.status_code == 404
    assert "redrive-dead-letters" in response.json_body["error"]["message"]


def test_running_a_job_is_audited(client, token, frozen_clock):
    from chalicelib.core.audit import actions_on

    client.http.post("/jobs/redrive-dead-letters/run", headers=token("admin", "ops-1"))
    (entry,) = actions_on(frozen_clock.now())
    assert (entry.actor, entry.action, entry.target) == ("ops-1", "POST /jobs/{job}/run", "job=redrive-dead-letters")
    assert entry.at == frozen_clock.now()


def test_the_pump_delivers_queued_tasks_to_the_worker_and_deletes_them(app, aws, sqs):
    tasks.enqueue("remember", [{"chunk": n} for n in range(25)])
    pump = Pump(app, cloud.physical_ids("o2o-mobility-test"))
    (binding,) = pump.bindings
    while pump.deliver_once(*binding):
        pass
    assert sorted(p["chunk"] for p in done) == list(range(25))
    assert waiting(sqs, aws["WORK_QUEUE_URL"]) == 0


def test_a_failed_chunk_alone_stays_on_the_queue(app, aws, sqs):
    tasks.enqueue("remember", [{"chunk": 1}, {"chunk": 2, "explode": True}, {"chunk": 3}])
    pump = Pump(app, cloud.physical_ids("o2o-mobility-test"))
    assert pump.deliver_once(*pump.bindings[0]) == 3
    assert sorted(p["chunk"] for p in done) == [1, 3]
    received = sqs.receive_message(QueueUrl=aws["WORK_QUEUE_URL"], VisibilityTimeout=0, WaitTimeSeconds=3)
    assert [json.loads(m["Body"])["payload"]["chunk"] for m in received["Messages"]] == [2]


def test_the_worker_reports_batch_item_failures(client):
    event = client.events.generate_sqs_event(
        message_bodies=[json.dumps({"task": "remember", "payload": {"chunk": 1}}),
                        json.dumps({"task": "no-such-task", "payload": {}})],
        queue_name="o2o-mobility-test-work")
    answer = client.lambda_.invoke("work_queue_worker", event).payload
    assert len(answer["batchItemFailures"]) == 1
    assert done == [{"chunk": 1}]


def test_redrive_moves_dead_letters_back_to_the_work_queue(client, token, aws, sqs):
    for n in range(12):
        message = json.dumps({"task": "remember", "payload": {"n": n}})
        sqs.send_message(QueueUrl=aws["WORK_DLQ_URL"], MessageBody=message)
    response = client.http.post("/jobs/redrive-dead-letters/run", headers=token("admin"))
    assert response.json_body["summary"] == {"moved": 12}
    assert waiting(sqs, aws["WORK_DLQ_URL"]) == 0
    assert waiting(sqs, aws["WORK_QUEUE_URL"]) == 12


def test_enqueueing_an_unregistered_task_fails_before_anything_is_sent(aws, sqs):
    with pytest.raises(tasks.UnknownTask):
        tasks.enqueue("nobody-listens", [{}])
    assert waiting(sqs, aws["WORK_QUEUE_URL"]) == 0
