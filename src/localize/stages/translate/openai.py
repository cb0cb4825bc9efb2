"""A backend for any OpenAI-compatible chat endpoint (vLLM, llama.cpp server, `transformers serve`, ...).

Off unless configured: the base URL and model come from the settings
(``openai_base_url``, ``openai_model``; env ``LOCALIZE_OPENAI_BASE_URL``,
``LOCALIZE_OPENAI_MODEL``) and the key only from ``LOCALIZE_OPENAI_API_KEY``.
The prompt carries the market rules, the glossary, the characters and the
surrounding lines, and asks for JSON ``{"lines": [{"id": .., "text": ..}]}``;
whatever comes back is parsed leniently, and lines it does not give are left to
the retry and fallback loop in :mod:`.base`. Plain ``http.client`` keeps the
dependency list short.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any
from urllib.parse import urlsplit

from localize.errors import ConfigError, ModelError
from localize.stages.translate.base import TRANSLATORS, TranslationRequest, Translator

log = logging.getLogger(__name__)

# Lines either side shown to the model: in a 40-60 line episode, about the whole script, so names,
# pronouns and tone carry over (a request with 8 lines plus 40 of context is still small).
CONTEXT_LINES = 20


class OpenAITranslator(Translator):
    """Translate through ``POST {base_url}/chat/completions`` in JSON mode."""

    name = "openai"
    batch_size = 8  # lines per request: fewer round trips, and the lines give each other context

    def __init__(self, base_url: str | None = None, model: str | None = None, api_key: str | None = None,
                 timeout: float = 120.0, json_mode: bool = True, max_tokens: int = 512) -> None:
        if base_url is None or model is None:
            from localize.config import load_settings

            settings = load_settings()
            base_url = base_url or getattr(settings, "openai_base_url", None)
            model = model or getattr(settings, "openai_model", None)
        if not base_url:
            raise ModelError("the openai backend is not configured: set LOCALIZE_OPENAI_BASE_URL "
                             "(e.g. http://127.0.0.1:8000/v1) and LOCALIZE_OPENAI_MODEL")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"openai_base_url must be an http(s) URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model or "default"
        self.api_key = api_key if api_key is not None else os.environ.get("LOCALIZE_OPENAI_API_KEY")
        self.timeout = timeout
        self.json_mode = json_mode
        self.max_tokens = max_tokens

    # -- prompt -------------------------------------------------------------------------------
    def messages(self, request: TranslationRequest, indices: list[int], feedback: dict[int, str]) -> list[dict]:
        """The chat messages for these lines: rules and glossary as the system turn, lines as JSON."""
        from localize.stages.translate.glossary import find_terms

        terms = request.terms()
        wanted = set(indices)
        lo, hi = max(0, min(indices) - CONTEXT_LINES), min(len(request.lines), max(indices) + CONTEXT_LINES + 1)
        used = {t: terms[t] for i in range(lo, hi) for t in find_terms(request.lines[i], terms)}
        rules = [f"You translate Chinese short-drama dialogue into natural spoken {request.locale.name} "
                 f"({request.locale.tag}) for dubbing.",
                 "Translate every line whose 'translate' is true; the other lines are context only.",
                 "Use the glossary renderings exactly (an empty rendering means leave the word out).",
                 "Keep each line within its 'max_chars' if given: condense, never drop meaning.",
                 'Answer with JSON only: {"lines": [{"id": <id>, "text": "<translation>"}]}.']
        if request.market:
            rules.append(request.market.brief())
        payload: dict[str, Any] = {"glossary": used, "lines": []}
        if request.speakers:
            payload["characters"] = sorted({s for s in request.speakers[lo:hi] if s})
        for i in range(lo, hi):
            item: dict[str, Any] = {"id": i, "zh": request.source(i), "translate": i in wanted}
            if request.speakers and i < len(request.speakers):
                item["speaker"] = request.speakers[i]
            if i in wanted and request.budget(i):
                item["max_chars"] = request.budget(i)
            if i in feedback:
                item["previous_attempt_problems"] = feedback[i]
            payload["lines"].append(item)
        return [{"role": "system", "content": " ".join(rules)},
                {"role": "user", "content": json.dumps(payload, ensure_ascii=False)}]

    # -- transport ----------------------------------------------------------------------------
    def _post(self, body: dict) -> dict:
        import http.client

        parts = urlsplit(self.base_url)
        conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(parts.hostname, parts.port, timeout=self.timeout)
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            conn.request("POST", f"{parts.path}/chat/completions", body=json.dumps(body).encode(), headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            # Unreachable is the user's to fix (server down, wrong URL): the whole backend is unusable.
            raise ModelError(f"openai endpoint {self.base_url} unreachable: {type(exc).__name__}: {exc}") from None
        finally:
            conn.close()
        if response.status in (401, 403, 404):
            raise ModelError(f"openai endpoint {self.base_url} refused the request: HTTP {response.status} "
                             f"{raw[:200].decode('utf-8', 'replace')}")
        if response.status >= 400:
            raise RuntimeError(f"HTTP {response.status}: {raw[:200].decode('utf-8', 'replace')}")
        return json.loads(raw)

    def chat(self, messages: list[dict]) -> str:
        """One chat completion; returns the assistant's text."""
        # Both names: older servers read max_tokens, newer ones max_completion_tokens.
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": 0, "stream": False,
                                "max_tokens": self.max_tokens, "max_completion_tokens": self.max_tokens}
        if self.json_mode:
            body["response_format"] = {"type": "json_object"}
        data = self._post(body)
        try:
            return data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise RuntimeError(f"unexpected response shape: {str(data)[:200]}") from None

    def translate(self, request: TranslationRequest, indices: list[int], feedback: dict[int, str]) -> dict[int, str]:
        """Ask for these lines in one request; lines missing from the answer are left out."""
        content = self.chat(self.messages(request, indices, feedback))
        parsed = parse_lines(content, indices)
        if not parsed:
            log.warning("openai: no usable lines in the answer: %r", content[:200])
        return parsed


def parse_lines(content: str, indices: list[int]) -> dict[int, str]:
    """Translations by line id from a model's answer, tolerating fences, prose around the JSON and plain lists."""
    text = re.sub(r"^```(?:json)?\s*|\s*```\s*$", "", content.strip())
    data: Any = None
    for candidate in (text, _outermost(text, "{", "}"), _outermost(text, "[", "]")):
        if candidate:
            try:
                data = json.loads(candidate)
                break
            except ValueError:
                continue
    if isinstance(data, dict):
        data = data.get("lines", data.get("translations", data))
    out: dict[int, str] = {}
    if isinstance(data, list):
        for position, item in enumerate(data):
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                try:
                    index = int(item.get("id", indices[position] if position < len(indices) else -1))
                except (TypeError, ValueError):
                    continue
                if index in indices:
                    out[index] = item["text"].strip()
            elif isinstance(item, str) and position < len(indices):
                out[indices[position]] = item.strip()
    elif isinstance(data, dict):
        for key, value in data.items():
            if str(key).isdigit() and int(key) in indices and isinstance(value, str):
                out[int(key)] = value.strip()
    elif data is None and len(indices) == 1 and text and not text.startswith(("{", "[")):
        out[indices[0]] = text.splitlines()[0].strip()  # a bare line for a single request: let validation judge it
    return {i: t for i, t in out.items() if t}


def _outermost(text: str, open_: str, close: str) -> str | None:
    start, end = text.find(open_), text.rfind(close)
    return text[start:end + 1] if 0 <= start < end else None


@TRANSLATORS.register("openai")
def _make_openai(**options: Any) -> OpenAITranslator:
    return OpenAITranslator(**options)
