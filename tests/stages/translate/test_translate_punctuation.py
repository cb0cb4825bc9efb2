"""Chinese marks a model copied into a line are written as the target language writes them."""

from __future__ import annotations

import pytest

from localize.locales import get_locale
from localize.stages.translate import TRANSLATORS, TranslationRequest, Translator, translate_lines
from localize.stages.translate.punctuation import local_punctuation


@pytest.mark.parametrize(("tag", "model", "written"), [
    # Seen in bench/translation.py and demo outputs (Gemma, after a name or glossary term).
    ("en-US", "Lin Xia，you were kicked out.", "Lin Xia, you were kicked out."),
    ("en-US", "Do you want to call me Mr. Gu？", "Do you want to call me Mr. Gu?"),
    ("es-MX", "Señorita Lin，este documento es pa' usted.", "Señorita Lin, este documento es pa' usted."),
    ("en-US", "Mr. Gu ，Miss Lin。", "Mr. Gu, Miss Lin."),
    ("en-US", "He said（quietly）no！", "He said (quietly) no!"),
    ("en-US", "Wait……", "Wait…"),
    ("en-US", "《Love》 is 50,000 yuan、fine", "\u201cLove\u201d is 50,000 yuan, fine"),
    ("ar-SA", "هل أنت متأكد？نعم，", "هل أنت متأكد؟ نعم،"),
    ("hi-IN", "ठीक है。", "ठीक है।"),
    ("ja-JP", "はい、そうです。", "はい、そうです。"),
    ("en-US", "Fine, 50,000 yuan. (Really?)", "Fine, 50,000 yuan. (Really?)"),
])
def test_cjk_marks_take_the_targets_form(tag, model, written):
    assert local_punctuation(model, get_locale(tag)) == written


class CopiesTheComma(Translator):
    """Answers as Gemma did on the demo: the name, then the Chinese comma it saw after it."""

    name = "test-copies-comma"

    def translate(self, request, indices, feedback):
        return {i: "Lin Xia，you were kicked out." for i in indices}


def test_every_backend_answer_is_written_with_the_targets_marks():
    if CopiesTheComma.name not in TRANSLATORS.names():
        TRANSLATORS.register(CopiesTheComma.name)(CopiesTheComma)
    [line] = translate_lines(TranslationRequest(["林晓，你被开除了。"], get_locale("en-US")), [CopiesTheComma.name])
    assert line.text == "Lin Xia, you were kicked out." and line.backend == CopiesTheComma.name
