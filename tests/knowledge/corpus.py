"""A small bilingual corpus with labelled queries (used by the retrieval tests and the benchmark).

Queries are of two kinds on purpose: paraphrases that share no words with their passage (vector search
finds them, keyword search cannot), and exact identifiers, names and Chinese terms that a small English
embedding model does not capture (keyword search finds them). Hybrid search should find both.
"""

from __future__ import annotations

PASSAGES: dict[str, str] = {
    "owls": "Owls are nocturnal birds of prey that hunt small rodents in darkness using silent flight.",
    "herons": "Herons wade slowly through shallow water and spear fish with their long sharp beaks.",
    "bees": "Honey bees collect nectar from flowers and communicate the location of food by dancing.",
    "volcano": "A volcano erupts when molten rock, ash and gases escape from a magma chamber beneath the crust.",
    "bread": "To bake bread, knead the dough, let the yeast make it rise, then bake it in a hot oven.",
    "err4021": "Gateway error E4021 means the upstream certificate expired; renew the TLS certificate to fix it.",
    "kx9": "The KX-9 valve assembly is torqued to 45 newton metres during the quarterly maintenance window.",
    "zorblat": "Zorblat is the internal codename of the billing reconciliation service written in Rust.",
    "panda": "大熊猫主要生活在四川的山区竹林中，每天要花十几个小时吃竹子。",
    "tea": "龙井茶产自杭州西湖一带，采摘后需要经过杀青和炒制才能保持清香。",
    "rail": "京沪高速铁路全长约一千三百公里，最高运营时速达到三百五十公里。",
    "refund": "用户在签收商品后七天内可以申请无理由退货，运费由商家承担。",
    "invoice": "报销流程要求员工在出差结束后十五个工作日内提交电子发票和行程单。",
    "wifi": "Office Wi-Fi password rotation happens on the first Monday of every month.",
}

# (query, expected passage key)
QUERIES: list[tuple[str, str]] = [
    # paraphrases (no shared content words): the embedding model's job
    ("which animals catch mice at night without making noise", "owls"),
    ("a bird standing in a pond catching its dinner", "herons"),
    ("how do insects tell each other where the flowers are", "bees"),
    ("mountain explodes with lava", "volcano"),
    ("steps for making a loaf at home", "bread"),
    # identifiers and rare names: keyword search's job
    ("E4021", "err4021"),
    ("KX-9 torque", "kx9"),
    ("zorblat", "zorblat"),
    # Chinese: jieba-segmented full text's job (MiniLM is an English model)
    ("熊猫吃什么", "panda"),
    ("龙井茶的产地", "tea"),
    ("高铁时速", "rail"),
    ("退货运费谁承担", "refund"),
    ("发票报销期限", "invoice"),
    # mixed
    ("when is the wifi password changed", "wifi"),
]
