"""Seed the model catalogue with common models, their context windows and list prices (per 1M tokens).

Prices are the providers' public list prices when this was written; they change, so they are data
(editable in the admin), not code. Rows that already exist are left as they are.
"""

from django.db import migrations

# provider_kind, model, display name, type, context window, max output, input, output, cached input, currency
SEED = [
    ("openai", "gpt-4o", "GPT-4o", "chat", 128000, 16384, "2.50", "10.00", "1.25", "USD"),
    ("openai", "gpt-4o-mini", "GPT-4o mini", "chat", 128000, 16384, "0.15", "0.60", "0.075", "USD"),
    ("openai", "gpt-4.1", "GPT-4.1", "chat", 1047576, 32768, "2.00", "8.00", "0.50", "USD"),
    ("openai", "gpt-4.1-mini", "GPT-4.1 mini", "chat", 1047576, 32768, "0.40", "1.60", "0.10", "USD"),
    ("openai", "gpt-4.1-nano", "GPT-4.1 nano", "chat", 1047576, 32768, "0.10", "0.40", "0.025", "USD"),
    ("openai", "o1", "o1", "chat", 200000, 100000, "15.00", "60.00", "7.50", "USD"),
    ("openai", "o3", "o3", "chat", 200000, 100000, "2.00", "8.00", "0.50", "USD"),
    ("openai", "o3-mini", "o3-mini", "chat", 200000, 100000, "1.10", "4.40", "0.55", "USD"),
    ("openai", "o4-mini", "o4-mini", "chat", 200000, 100000, "1.10", "4.40", "0.275", "USD"),
    ("openai", "text-embedding-3-small", "text-embedding-3-small", "embedding", 8191, None, "0.02", "0", None, "USD"),
    ("openai", "text-embedding-3-large", "text-embedding-3-large", "embedding", 8191, None, "0.13", "0", None, "USD"),
    ("openai", "text-embedding-ada-002", "text-embedding-ada-002", "embedding", 8191, None, "0.10", "0", None, "USD"),
    ("openai", "omni-moderation-latest", "omni-moderation", "moderation", 32768, None, "0", "0", None, "USD"),
    ("anthropic", "claude-opus-4-1", "Claude Opus 4.1", "chat", 200000, 32000, "15.00", "75.00", "1.50", "USD"),
    ("anthropic", "claude-opus-4-0", "Claude Opus 4", "chat", 200000, 32000, "15.00", "75.00", "1.50", "USD"),
    ("anthropic", "claude-sonnet-4-0", "Claude Sonnet 4", "chat", 200000, 64000, "3.00", "15.00", "0.30", "USD"),
    ("anthropic", "claude-3-7-sonnet-latest", "Claude 3.7 Sonnet", "chat", 200000, 64000, "3.00", "15.00", "0.30", "USD"),
    ("anthropic", "claude-3-5-haiku-latest", "Claude 3.5 Haiku", "chat", 200000, 8192, "0.80", "4.00", "0.08", "USD"),
    ("anthropic", "claude-3-haiku-20240307", "Claude 3 Haiku", "chat", 200000, 4096, "0.25", "1.25", "0.03", "USD"),
    ("deepseek", "deepseek-chat", "DeepSeek-V3 (chat)", "chat", 128000, 8192, "0.28", "0.42", "0.028", "USD"),
    ("deepseek", "deepseek-reasoner", "DeepSeek-R1 (reasoner)", "chat", 128000, 65536, "0.28", "0.42", "0.028", "USD"),
    ("dashscope", "qwen-max", "Qwen-Max", "chat", 32768, 8192, "1.60", "6.40", None, "USD"),
    ("dashscope", "qwen-plus", "Qwen-Plus", "chat", 131072, 16384, "0.40", "1.20", None, "USD"),
    ("dashscope", "qwen-turbo", "Qwen-Turbo", "chat", 1000000, 8192, "0.05", "0.20", None, "USD"),
    ("dashscope", "text-embedding-v3", "Qwen text-embedding-v3", "embedding", 8192, None, "0.07", "0", None, "USD"),
    ("zhipu", "glm-4-plus", "GLM-4-Plus", "chat", 128000, 4096, "5.00", "5.00", None, "CNY"),
    ("zhipu", "glm-4-air", "GLM-4-Air", "chat", 128000, 4096, "0.50", "0.50", None, "CNY"),
    ("zhipu", "glm-4-flash", "GLM-4-Flash", "chat", 128000, 4096, "0", "0", None, "CNY"),
    ("zhipu", "embedding-3", "Zhipu embedding-3", "embedding", 8192, None, "0.50", "0", None, "CNY"),
    ("moonshot", "moonshot-v1-8k", "Moonshot v1 8k", "chat", 8192, None, "2.00", "10.00", None, "CNY"),
    ("moonshot", "moonshot-v1-32k", "Moonshot v1 32k", "chat", 32768, None, "5.00", "20.00", None, "CNY"),
    ("moonshot", "moonshot-v1-128k", "Moonshot v1 128k", "chat", 131072, None, "10.00", "30.00", None, "CNY"),
    ("moonshot", "kimi-k2-0711-preview", "Kimi K2", "chat", 131072, None, "4.00", "16.00", "1.00", "CNY"),
    ("doubao", "doubao-1.5-pro-32k", "Doubao 1.5 Pro 32k", "chat", 32768, 12288, "0.80", "2.00", None, "CNY"),
    ("doubao", "doubao-1.5-pro-256k", "Doubao 1.5 Pro 256k", "chat", 262144, 12288, "5.00", "9.00", None, "CNY"),
    ("doubao", "doubao-1.5-lite-32k", "Doubao 1.5 Lite 32k", "chat", 32768, 12288, "0.30", "0.60", None, "CNY"),
    ("baichuan", "Baichuan4", "Baichuan 4", "chat", 32768, 4096, "100.00", "100.00", None, "CNY"),
    ("baichuan", "Baichuan4-Turbo", "Baichuan 4 Turbo", "chat", 32768, 4096, "15.00", "15.00", None, "CNY"),
    ("baichuan", "Baichuan3-Turbo", "Baichuan 3 Turbo", "chat", 32768, 4096, "12.00", "12.00", None, "CNY"),
    ("qianfan", "ernie-4.0-8k", "ERNIE 4.0 8k", "chat", 8192, 2048, "30.00", "90.00", None, "CNY"),
    ("qianfan", "ernie-3.5-8k", "ERNIE 3.5 8k", "chat", 8192, 2048, "0.80", "2.00", None, "CNY"),
    ("qianfan", "ernie-speed-128k", "ERNIE Speed 128k", "chat", 131072, 4096, "0", "0", None, "CNY"),
]


def seed(apps, schema_editor):
    CatalogModel = apps.get_model("providers", "CatalogModel")
    for kind, model, name, model_type, window, max_out, price_in, price_out, cached, currency in SEED:
        CatalogModel.objects.get_or_create(
            provider_kind=kind,
            model=model,
            defaults={
                "display_name": name,
                "model_type": model_type,
                "context_window": window,
                "max_output_tokens": max_out,
                "input_price": price_in,
                "output_price": price_out,
                "cached_input_price": cached,
                "currency": currency,
                "notes": "Seeded list price; check the provider's pricing page.",
            },
        )


def unseed(apps, schema_editor):
    CatalogModel = apps.get_model("providers", "CatalogModel")
    for kind, model, *_ in SEED:
        CatalogModel.objects.filter(provider_kind=kind, model=model).delete()


class Migration(migrations.Migration):
    dependencies = [("providers", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
