"""A transaction names the conflict each item's condition stands for; DynamoDB reports items by kind, not call order."""

import pytest
from pynamodb.exceptions import TransactWriteError

from chalicelib.core.dynamo import transaction
from chalicelib.core.errors import Conflict
from chalicelib.payouts.models import Wallet

R1, R2, R3 = (Wallet.owner_of("rider", rider) for rider in ("r-1", "r-2", "r-3"))


@pytest.fixture
def wallets(aws):
    Wallet(R1, balance_krw=3_000).save()
    Wallet(R2, balance_krw=0).save()


def move(debit_krw: int, opened: str) -> None:
    """Take `debit_krw` from r-1 and open the wallet `opened` with it, in one transaction."""
    with transaction() as tx:
        # Written first, sent last: PynamoDB sends puts before updates.
        tx.update(Wallet(R1), actions=[Wallet.balance_krw.add(-debit_krw)],
                  condition=Wallet.balance_krw >= debit_krw, conflict="r-1 has too little")
        tx.save(Wallet(opened, balance_krw=debit_krw), condition=Wallet.owner.does_not_exist(),
                conflict=f"{opened} has a wallet already")


def test_the_failed_item_s_own_message_is_the_conflict_whatever_order_the_items_were_written_in(wallets):
    with pytest.raises(Conflict, match="r-1 has too little"):
        move(5_000, R3)
    assert int(Wallet.get(R1).balance_krw) == 3_000
    assert not list(Wallet.query(R3))


def test_a_put_whose_condition_fails_names_its_own_conflict(wallets):
    with pytest.raises(Conflict, match="rider#r-2 has a wallet already"):
        move(1_000, R2)


def test_a_condition_without_a_message_fails_as_dynamodb_said(wallets):
    def overdraw() -> None:
        with transaction() as tx:
            tx.update(Wallet(R2), actions=[Wallet.balance_krw.add(-1)], condition=Wallet.balance_krw >= 1)

    with pytest.raises(TransactWriteError):
        overdraw()
