"""Worked examples shown to chat models before the line to translate (few-shot turns).

Short microdrama lines written for this purpose, none of them from an eval or
held-out set (tests/data/translation_*.tsv, bench/data/*.tsv). Each pair shows what
a small model gets wrong on its own: an idiom rendered by meaning, not word by word
(别给脸不要脸 is not about faces), a name already in the Latin alphabet kept as it is,
an amount kept as digits, and a short answer with nothing around it. Lines are written
as the backend shows them (names and amounts already substituted). Languages without
examples get none.
"""

from __future__ import annotations

EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("少废话，快说！", "Cut the crap. Talk!"),
        ("我跟你没完！", "This isn't over!"),
        ("别给脸不要脸。", "Don't push your luck."),
        ("你还有脸回来？", "You've got some nerve coming back."),
        ("滚出去，别让我再看见你！", "Get out. I never want to see you again!"),
        ("她又在装可怜了。", "She's playing the victim again."),
        ("Zhou Yi，你疯了吗？", "Zhou Yi, are you crazy?"),
        ("这20,000 yuan算我借你的。", "Consider the 20,000 yuan a loan."),
        ("一言为定。", "It's a deal."),
    ],
    "es": [
        ("少废话，快说！", "¡Ya no le des vueltas y habla!"),
        ("我跟你没完！", "¡Esto no se va a quedar así!"),
        ("别给脸不要脸。", "No abuses de tu suerte."),
        ("你还有脸回来？", "¿Todavía tienes cara para volver?"),
        ("滚出去，别让我再看见你！", "¡Lárgate y no vuelvas nunca!"),
        ("她又在装可怜了。", "Ya se está haciendo la víctima otra vez."),
        ("Zhou Yi，你疯了吗？", "Zhou Yi, ¿estás loco?"),
        ("公司的股份，我只要30%。", "De las acciones de la empresa, solo quiero el 30%."),
        ("一言为定。", "Trato hecho."),
    ],
}


def examples_for(language: str) -> list[tuple[str, str]]:
    """The (shown source, translation) pairs for ``language`` (a bare code: "en", "es"); empty if none."""
    return EXAMPLES.get(language, [])
