import argparse

from werkzeug.serving import run_simple

from tests.plugins.example_ads.emulator import create_app

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=5077)
args = parser.parse_args()
run_simple(args.host, args.port, create_app(), threaded=True)
