"""Provider kinds and model types, with each kind's default base URL and the LangChain family it uses.

Every kind except ``azure_openai`` and ``anthropic`` speaks the OpenAI protocol (``/v1/chat/completions``,
``/v1/embeddings``), so the gateway drives them all with ``langchain-openai``.
"""

from __future__ import annotations

from django.db import models


class ProviderKind(models.TextChoices):
    """Who serves the model, and therefore which protocol and defaults apply."""

    OPENAI = "openai", "OpenAI"
    AZURE_OPENAI = "azure_openai", "Azure OpenAI"
    ANTHROPIC = "anthropic", "Anthropic"
    OLLAMA = "ollama", "Ollama (OpenAI-compatible /v1)"
    VLLM = "vllm", "vLLM"
    LLAMACPP = "llamacpp", "llama.cpp server"
    DEEPSEEK = "deepseek", "DeepSeek"
    MOONSHOT = "moonshot", "Moonshot (Kimi)"
    DASHSCOPE = "dashscope", "DashScope (Qwen, compatible mode)"
    ZHIPU = "zhipu", "Zhipu (GLM)"
    BAICHUAN = "baichuan", "Baichuan"
    DOUBAO = "doubao", "Doubao (Volcengine Ark)"
    QIANFAN = "qianfan", "Baidu Qianfan"
    OPENAI_COMPATIBLE = "openai_compatible", "Other OpenAI-compatible server"


class ModelType(models.TextChoices):
    """What an endpoint's model does."""

    CHAT = "chat", "Chat"
    EMBEDDING = "embedding", "Embedding"
    RERANK = "rerank", "Rerank"
    MODERATION = "moderation", "Moderation"


# Used when an endpoint leaves ``base_url`` empty; kinds that are self-hosted have no default.
DEFAULT_BASE_URLS: dict[str, str] = {
    ProviderKind.OPENAI: "https://api.openai.com/v1",
    ProviderKind.ANTHROPIC: "https://api.anthropic.com",
    ProviderKind.DEEPSEEK: "https://api.deepseek.com/v1",
    ProviderKind.MOONSHOT: "https://api.moonshot.cn/v1",
    ProviderKind.DASHSCOPE: "https://dashscope.aliyuncs.com/compatible-mode/v1",
    ProviderKind.ZHIPU: "https://open.bigmodel.cn/api/paas/v4",
    ProviderKind.BAICHUAN: "https://api.baichuan-ai.com/v1",
    ProviderKind.DOUBAO: "https://ark.cn-beijing.volces.com/api/v3",
    ProviderKind.QIANFAN: "https://qianfan.baidubce.com/v2",
}

# Kinds whose servers commonly run without an API key (the OpenAI client still needs a placeholder).
KEYLESS_KINDS = frozenset(
    {ProviderKind.OLLAMA, ProviderKind.VLLM, ProviderKind.LLAMACPP, ProviderKind.OPENAI_COMPATIBLE}
)


def langchain_family(kind: str) -> str:
    """``"azure"``, ``"anthropic"`` or ``"openai"`` (every OpenAI-compatible kind)."""
    if kind == ProviderKind.AZURE_OPENAI:
        return "azure"
    if kind == ProviderKind.ANTHROPIC:
        return "anthropic"
    return "openai"
