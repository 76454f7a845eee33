"""``python -m devservices.localmodels ensure | serve-chat | serve-embeddings | urls``.

``ensure`` makes the models available (idempotent; builds llama.cpp once per machine); ``serve-chat`` execs
llama-server with Qwen2.5-Coder-1.5B-Instruct (``--model gemma3-270m``: the base plumbing model) on ``$LLMOPS_CHAT_MODEL_PORT`` (8091); ``serve-embeddings`` runs the
multilingual + MiniLM embeddings server on ``$LLMOPS_EMBEDDING_MODEL_PORT`` (8092), with ``/v1/rerank``
(model ``qwen-rerank``) asking the chat server; ``urls`` prints shell-sourceable base URLs.
Errors print one ``error: <cause>; <fix>`` line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from devservices.embedded.errors import EmbeddedError
from devservices.embedded.ports import port_in_use
from devservices.localmodels import config
from devservices.localmodels.errors import LocalModelsError

EXIT_OK = 0
EXIT_ERROR = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devservices.localmodels", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("ensure", help="build/install llama-server, assemble the GGUF, fetch the tokenizer")
    chat = commands.add_parser("serve-chat", help="exec llama-server with a local chat model")
    chat.add_argument("--port", type=int, default=None, help=f"default ${config.CHAT_PORT_ENV} or 8091")
    chat.add_argument(
        "--model", default=config.INSTRUCT_MODEL, choices=[config.INSTRUCT_MODEL, config.CHAT_MODEL],
        help=f"default {config.INSTRUCT_MODEL}; {config.CHAT_MODEL} is a fast base model for plumbing tests",
    )  # fmt: skip
    chat.add_argument("extra", nargs=argparse.REMAINDER, help="more llama-server flags, after --")
    embeddings = commands.add_parser(
        "serve-embeddings", help="run the embeddings server (USE multilingual v3, all-MiniLM-L6-v2)"
    )
    embeddings.add_argument(
        "--port", type=int, default=None, help=f"default ${config.EMBEDDING_PORT_ENV} or 8092"
    )
    embeddings.add_argument("--quiet", action="store_true", help="no access log")
    embeddings.add_argument(
        "--rerank-chat-url", default=None,
        help=f"chat server (OpenAI base URL, .../v1) behind /v1/rerank; default ${config.RERANK_CHAT_URL_ENV}"
        f" or the local chat server (port ${config.CHAT_PORT_ENV} or 8091)",
    )  # fmt: skip
    embeddings.add_argument(
        "--rerank-passage-tokens", type=int, default=None,
        help="the most tokens of a passage the model reads (the window richest in the question's words);"
        " default $LLMOPS_RERANK_PASSAGE_TOKENS or 32",
    )  # fmt: skip
    commands.add_parser("urls", help="print LLMOPS_CHAT_MODEL_URL=... and LLMOPS_EMBEDDING_MODEL_URL=...")
    return parser


def _free_or_fail(port: int, env: str) -> int:
    if port_in_use(port):
        raise LocalModelsError(
            f"port {port} on 127.0.0.1 is in use; stop what holds it or set {env} (or --port)"
        )
    return port


def _ensure() -> int:
    from devservices.localmodels.ensure import ensure

    started = time.monotonic()
    steps = ensure(say=lambda line: print(line, flush=True))
    changed = [step.name for step in steps if step.changed]
    summary = f"changed: {', '.join(changed)}" if changed else "nothing to do"
    print(f"local models ready in {time.monotonic() - started:.2f} s ({summary})", flush=True)
    return EXIT_OK


def _serve_chat(port: int | None, extra: Sequence[str], name: str) -> int:
    from devservices.localmodels import llama

    port = _free_or_fail(port or config.chat_port(), config.CHAT_PORT_ENV)
    extra = list(extra[1:] if extra[:1] == ["--"] else extra)
    print(f"chat model {name} (llama-server) on {config.base_url(port)}", flush=True)
    llama.exec_server(port, extra, name=name)
    return EXIT_ERROR  # not reached: exec replaced this process


def _serve_embeddings(
    port: int | None, quiet: bool, rerank_chat_url: str | None, rerank_passage_tokens: int | None
) -> int:
    from devservices.localmodels.embedding_server import serve

    if rerank_passage_tokens is not None and rerank_passage_tokens < 1:
        raise LocalModelsError("--rerank-passage-tokens must be a positive whole number")
    serve(
        _free_or_fail(port or config.embedding_port(), config.EMBEDDING_PORT_ENV), quiet=quiet,
        rerank_chat_url=rerank_chat_url, rerank_passage_tokens=rerank_passage_tokens,
    )  # fmt: skip
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "ensure":
            return _ensure()
        if args.command == "serve-chat":
            return _serve_chat(args.port, args.extra, args.model)
        if args.command == "serve-embeddings":
            return _serve_embeddings(args.port, args.quiet, args.rerank_chat_url, args.rerank_passage_tokens)
        print(f"LLMOPS_CHAT_MODEL_URL={config.chat_server_url()}")
        print(f"LLMOPS_CHAT_MODEL_NAME={config.INSTRUCT_MODEL}")
        print(f"LLMOPS_EMBEDDING_MODEL_URL={config.embedding_server_url()}")
        print(f"LLMOPS_EMBEDDING_MODEL_NAME={config.MULTILINGUAL_EMBEDDING_MODEL}")
        return EXIT_OK
    except (LocalModelsError, EmbeddedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
