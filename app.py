"""o2o-mobility: the Chalice app. It only wires: observability, the authorizer and each domain's Blueprint."""

from chalice import Chalice

from chalicelib.compensation.routes import compensation
from chalicelib.core.api import api_error_bodies
from chalicelib.core.auth import authorizer_blueprint
from chalicelib.core.observability import instrument
from chalicelib.core.routes import core
from chalicelib.drivers.routes import drivers
from chalicelib.notices.routes import notices
from chalicelib.outages.routes import outages
from chalicelib.payouts.routes import payouts
from chalicelib.rides.routes import rides

app = Chalice(app_name="o2o-mobility", configure_logs=False)
instrument(app)
app.register_middleware(api_error_bodies, "http")
app.register_blueprint(authorizer_blueprint)
app.register_blueprint(core)
app.register_blueprint(drivers)
app.register_blueprint(rides)
app.register_blueprint(notices)
app.register_blueprint(outages)
app.register_blueprint(compensation)
app.register_blueprint(payouts)
