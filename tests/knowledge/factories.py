"""Factories and generated documents for the knowledge tests."""

from __future__ import annotations

import io
import json
from typing import Any

import factory

from llmops.accounts.models import Workspace
from llmops.knowledge.models import KnowledgeBase, default_chunking, default_retrieval
from llmops.providers.models import ModelEndpoint
from tests.accounts.factories import WorkspaceFactory
from tests.providers.factories import ModelEndpointFactory, endpoint_config


class KnowledgeBaseFactory(factory.django.DjangoModelFactory[KnowledgeBase]):
    class Meta:
        model = KnowledgeBase

    workspace = factory.SubFactory(WorkspaceFactory)
    slug = factory.Sequence(lambda n: f"kb-{n}")
    name = factory.Sequence(lambda n: f"Knowledge base {n}")
    embedding_model = "minilm"
    chunking = factory.LazyFunction(default_chunking)
    retrieval = factory.LazyFunction(default_retrieval)


def embedding_endpoint(workspace: Workspace, base_url: str, slug: str = "minilm") -> ModelEndpoint:
    """An embedding endpoint on ``base_url`` (the real local MiniLM server, or a scripted test server)."""
    config = endpoint_config(base_url=base_url, model="all-minilm-l6-v2", model_type="embedding")
    return ModelEndpointFactory.create(workspace=workspace, slug=slug, draft=config)


def multilingual_embedding_endpoint(
    workspace: Workspace, base_url: str, slug: str = "multilingual"
) -> ModelEndpoint:
    """An embedding endpoint for the local server's multilingual model (Universal Sentence Encoder, 512 dims)."""
    from devservices.localmodels.config import MULTILINGUAL_EMBEDDING_MODEL

    config = endpoint_config(base_url=base_url, model=MULTILINGUAL_EMBEDDING_MODEL, model_type="embedding")
    return ModelEndpointFactory.create(workspace=workspace, slug=slug, draft=config)


def pdf_bytes(lines: list[str]) -> bytes:
    """A minimal valid one-page PDF showing ``lines`` (Helvetica), with a correct xref table."""
    text = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode())
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def docx_bytes(paragraphs: list[str]) -> bytes:
    """A .docx with ``paragraphs``."""
    from docx import Document

    document = Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    """An .xlsx whose first sheet holds ``rows`` (the first is the header)."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()
