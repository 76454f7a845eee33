"""document_extractor: text from txt, md, html, pdf and docx files (file references or inline content)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from typing import Any

from workflows._documents import extract_text
from workflows._errors import NodeError
from workflows._ports import FileStore
from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult, Selector


class DocumentExtractorConfig(NodeConfig):
    """``file`` selects a file reference (``{"file_id": ...}``), a list of them, or inline
    ``{"name", "mime_type", "content_base64" | "text"}`` objects."""

    file: Selector


class DocumentExtractorNode(NodeKind[DocumentExtractorConfig]):
    """Outputs ``text`` (all documents joined) and ``texts`` (one per document)."""

    type = "document_extractor"
    config_model = DocumentExtractorConfig
    description = "Extracts text from documents."

    def outputs(self, config: DocumentExtractorConfig) -> Mapping[str, str] | None:
        return {"text": "string", "texts": "array"}

    async def run(self, config: DocumentExtractorConfig, ctx: NodeContext) -> NodeResult:
        value = ctx.resolve(config.file)
        files = value if isinstance(value, list) else [value]
        texts = [await _extract(ctx, item) for item in files]
        return NodeResult({"text": "\n\n".join(texts), "texts": texts})


async def _extract(ctx: NodeContext, item: Any) -> str:
    if not isinstance(item, dict):
        raise NodeError(f"expected a file reference, got {type(item).__name__}")
    name, mime = str(item.get("name", "")), str(item.get("mime_type", ""))
    if "text" in item:
        return str(item["text"])
    if "content_base64" in item:
        content = base64.b64decode(item["content_base64"])
    elif "file_id" in item:
        store: FileStore = ctx.port("files")
        content, stored_name, stored_mime = await store.read(str(item["file_id"]), ctx.call)
        name, mime = name or stored_name, mime or stored_mime
    else:
        raise NodeError("a file reference needs file_id, content_base64 or text")
    # PDF parsing is CPU-bound: keep it off the event loop so concurrent nodes keep running.
    return await asyncio.to_thread(extract_text, content, name, mime)
