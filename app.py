"""o2o-mobility: the Chalice app. It only wires: observability, the authorizer, each domain's Blueprint and
the WebSocket API's handlers (on the app: Chalice's Blueprints do not wrap them)."""

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
from chalicelib.realtime import routes as realtime_routes
from chalicelib.rides.routes import rides

app = Chalice(app_name="o2o-mobility", configure_logs=False)
app.experimental_feature_flags.update(["WEBSOCKETS"])
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
app.register_blueprint(realtime_routes.realtime)
# The module attributes are the Lambda handlers Chalice packages (`app.websocket_connect`, ...).
websocket_connect = app.on_ws_connect()(realtime_routes.websocket_connect)
websocket_message = app.on_ws_message()(realtime_routes.websocket_message)
websocket_disconnect = app.on_ws_disconnect()(realtime_routes.websocket_disconnect)
