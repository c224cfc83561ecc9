"""Load the Function App as the Azure Functions host has the Python 3.13 worker load it; exit 1 on any error.

Run by a Python 3.13 interpreter whose environment holds requirements.txt and azure-functions-runtime (the
worker library the host's 3.13 worker runs the app with), in a directory laid out as deployed:

    python load_app.py [APP_DIR]

It drives the worker library's own request handlers (azure_functions_runtime.handle_event), in the host's order:

1. WorkerInitRequest: `worker_init_request` loads the binding registry and indexes the app
   (`loader.index_function_app` imports function_app.py and takes the functions of its one FunctionRegister;
   `loader.process_indexed_function` checks each with `functions.Registry.add_indexed_function`, which raises
   FunctionLoadError). The first error fails the whole index, and the host then loads no function at all.
2. FunctionsMetadataRequest: `functions_metadata_request` answers with the indexed functions.
3. FunctionLoadRequest for each of them: `function_load_request`, and the function must be in the registry that
   invocations look functions up in.

When step 1 fails, every function is then indexed on its own (the same `process_indexed_function`, one function
at a time) so that every error is printed with its function's name, not only the first.

The host talks to the worker over gRPC with protobuf messages (FunctionRpc.proto); the handlers only build
messages and read a few enum values, so PROTOS below stands in for the generated module.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any


class Message(SimpleNamespace):
    """A protobuf message: its fields are the keywords it was built with."""


class BindingInfo(Message):
    # enum BindingInfo.Direction and enum BindingInfo.DataType of FunctionRpc.proto
    out = 1
    inout = 2
    undefined = 0
    string = 1
    binary = 2
    stream = 3


setattr(BindingInfo, "in", 0)  # `in` is a keyword


class StatusResult(Message):
    # enum StatusResult.Status of FunctionRpc.proto
    Failure = 0
    Success = 1
    Cancelled = 2


class Protos:
    """Stands in for the generated protobuf module the worker passes to the library as request.properties['protos']."""

    BindingInfo = BindingInfo
    StatusResult = StatusResult

    def __getattr__(self, name: str) -> type[Message]:
        message = type(name, (Message,), {})
        setattr(self, name, message)
        return message


PROTOS = Protos()


def request(**content: Any) -> SimpleNamespace:
    """A StreamingMessage as the proxy worker hands it to the library: .request.<content> and .properties."""
    return SimpleNamespace(request=SimpleNamespace(**content), properties={"host": "127.0.0.1", "protos": PROTOS})


def status(response: Any) -> tuple[bool, str]:
    result = response.result
    exception = getattr(result, "exception", None)
    return result.status == StatusResult.Success, getattr(exception, "message", "")


def each_error(indexed: list[Any], app_dir: Path) -> list[tuple[str, str]]:
    """(function name, error) for every function the worker refuses, indexing them one at a time."""
    from azure_functions_runtime.functions import Registry
    from azure_functions_runtime.loader import process_indexed_function

    errors = []
    for function in indexed:
        try:
            process_indexed_function(PROTOS, Registry(), [function], str(app_dir))
        except Exception as error:
            errors.append((function.get_function_name(), f"{type(error).__name__}: {error}"))
    return errors


def record_index(handle_event: Any) -> list[Any]:
    """The functions `index_function_app` returns to the init handler (the SDK builds them only once per app)."""
    indexed: list[Any] = []
    index_function_app = handle_event.index_function_app

    def recording(function_path: str) -> Any:
        functions = index_function_app(function_path)
        indexed.extend(functions or [])
        return functions

    handle_event.index_function_app = recording
    return indexed


def trigger(metadata: Any) -> str:
    """The trigger binding's type, from the function's RpcFunctionMetadata."""
    types = [binding.type for binding in metadata.bindings.values()]
    return next((t for t in types if t.endswith("Trigger")), ",".join(types))


async def load(app_dir: Path) -> int:
    from azure_functions_runtime import handle_event

    indexed = record_index(handle_event)
    init = await handle_event.worker_init_request(
        request(worker_init_request=SimpleNamespace(capabilities={}, function_app_directory=str(app_dir)))
    )
    ok, message = status(init)
    if not ok:
        print(f"WorkerInitRequest failed: {message}")
        if not indexed:  # function_app.py did not import, or has no app: the message says why
            print("FAILED: the app was not indexed")
            return 1
        errors = each_error(indexed, app_dir)
        for name, error in errors:
            print(f"ERROR {name}: {error}")
        print(f"FAILED: the worker refuses {len(errors)} of {len(indexed)} functions, so the host loads none")
        return 1

    metadata = await handle_event.functions_metadata_request(request(functions_metadata_request=SimpleNamespace()))
    ok, message = status(metadata)
    results = metadata.function_metadata_results or []
    if not ok or not results:
        print(f"FunctionsMetadataRequest failed: {message or 'no function indexed'}")
        return 1

    failed = 0
    for function in results:
        loaded = await handle_event.function_load_request(
            request(function_load_request=SimpleNamespace(function_id=function.function_id, metadata=function))
        )
        ok, message = status(loaded)
        info = handle_event._functions.get_function(function.function_id)
        if not ok or info is None:
            failed += 1
            print(f"ERROR {function.name}: FunctionLoadRequest failed: {message or 'not in the registry'}")
            continue
        print(f"loaded {function.name} ({trigger(function)}{', async' if info.is_async else ''})")
    if failed:
        print(f"FAILED: {failed} of {len(results)} functions did not load")
        return 1
    print(f"OK: {len(results)} functions loaded")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("app_dir", nargs="?", default=".", help="the app laid out as deployed (default: .)")
    parser.add_argument("--verbose", action="store_true", help="show the worker library's logs")
    args = parser.parse_args(argv)
    app_dir = Path(args.app_dir).resolve()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)
    # The worker runs in the app's directory with it first on sys.path (then .python_packages, when deployed so).
    os.chdir(app_dir)
    sys.path.insert(0, str(app_dir))
    packages = app_dir / ".python_packages" / "lib" / "site-packages"
    if packages.is_dir():
        sys.path.insert(1, str(packages))
    return asyncio.run(load(app_dir))


if __name__ == "__main__":
    sys.exit(main())
