"""token-difr's tokenize_openrouter_responses: chat answers back into token sequences.

Generation itself is difr's (audit_provider); this turns answers obtained elsewhere (OpenAI SDK objects or
their dicts) into TokenSequence objects with a difr Model or a Hugging Face tokenizer.
"""

from __future__ import annotations

from typing import Any, Sequence

from .common import TokenSequence
from .models import Model
from .prompts import encode_thinking_response

__all__ = ["tokenize_openrouter_responses"]


def _message(response: Any) -> tuple[str, str]:
    if isinstance(response, dict):
        message = response["choices"][0]["message"]
        return message.get("content") or "", message.get("reasoning") or ""
    message = response.choices[0].message
    return message.content or "", getattr(message, "reasoning", None) or ""


def tokenize_openrouter_responses(
    conversations: Sequence[list[dict[str, str]]],
    responses: Sequence[Any],
    tokenizer: Any,
    max_tokens: int | None = None,
) -> list[TokenSequence]:
    """One TokenSequence per (conversation, answer): the prompt rendered with the chat template (generation
    prompt added) and encoded without special tokens; the answer as "<think>reasoning</think>content" when
    the reasoning came separately, cut to max_tokens."""
    if len(conversations) != len(responses):
        raise ValueError(f"{len(conversations)} conversations but {len(responses)} responses")
    out = []
    for conversation, response in zip(conversations, responses):
        content, reasoning = _message(response)
        if isinstance(tokenizer, Model):
            prompt = tokenizer.chat_tokenize(conversation)
        else:
            text = tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
            prompt = list(tokenizer.encode(text, add_special_tokens=False))
        out.append(TokenSequence(prompt, encode_thinking_response(content, reasoning, tokenizer, max_tokens)))
    return out
