"""construct_prompts from a local conversations file, against `difr prompts`; custom prompts; tokenisers;
and re-tokenising answers (encode_thinking_response, tokenize_openrouter_responses)."""

from __future__ import annotations

import json

import pytest

import difr_llm
from conftest import read_jsonl, run_difr
from difr_llm import construct_prompts, encode_thinking_response, tokenize_openrouter_responses

HF = "HuggingFaceTB/SmolLM2-135M-Instruct"
SYSTEM = {"role": "system", "content": "You are a helpful assistant."}


def record(*turns, language="English"):
    roles = ["user", "assistant"]
    return {"conversation": [{"role": roles[i % 2], "content": t} for i, t in enumerate(turns)],
            "language": language}


@pytest.fixture()
def wildchat(tmp_path):
    """WildChat-shaped records, each chosen for one filter."""
    records = [
        record("What is 2 + 2?"),                                # kept
        record("Bonjour, ça va ?", language="French"),            # not English
        record("Name a colour.", "Blue.", "Another one?", "Red."),  # trailing assistant turn dropped: kept
        record("   ", "ok"),                                      # an empty turn
        record("word " * 200),                                    # too long for 64 tokens
        record("What is 2 + 2?"),                                 # a duplicate
        record("Tell me a joke."),                                # kept
        record("Summarise: the cat sat on the mat."),             # kept, after the limit of 3
    ]
    path = tmp_path / "wildchat.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_filters_like_token_difr_and_equals_difr_prompts(wildchat, tmp_path):
    got = construct_prompts(n_prompts=3, max_ctx_len=64, model_name=HF, dataset=wildchat)
    assert got == [
        [SYSTEM, {"role": "user", "content": "What is 2 + 2?"}],
        [SYSTEM, {"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."},
         {"role": "user", "content": "Another one?"}],
        [SYSTEM, {"role": "user", "content": "Tell me a joke."}],
    ]
    stats = difr_llm.prompts.prompt_set_stats
    assert (stats["not_english"], stats["empty_turn"], stats["too_long"], stats["duplicate"], stats["kept"]) == \
        (1, 1, 1, 1, 3)
    run_difr("prompts", "-i", str(wildchat), "-o", str(tmp_path / "cli.jsonl"), "-n", "3", "--max-tokens", "64")
    cli = [[SYSTEM] + r["messages"] for r in read_jsonl(tmp_path / "cli.jsonl")]
    assert got == cli


def test_tokenizers_agree(wildchat, embedded):
    class HFLike:
        """The two methods token-difr calls on a Hugging Face tokenizer."""

        def apply_chat_template(self, conversation, tokenize, add_generation_prompt):
            assert tokenize is False and add_generation_prompt is True
            return embedded.chat_render(conversation)

        def encode(self, text, add_special_tokens):
            assert add_special_tokens is False
            return embedded.tokenize(text)

    by_model = construct_prompts(n_prompts=10, max_ctx_len=64, tokenizer=embedded, dataset=wildchat)
    by_hf = construct_prompts(n_prompts=10, max_ctx_len=64, tokenizer=HFLike(), dataset=wildchat)
    by_callable = construct_prompts(n_prompts=10, max_ctx_len=64, tokenizer=embedded.chat_tokenize,
                                    dataset=wildchat, system_prompt=None)
    assert by_model == by_hf and len(by_model) == 4
    assert by_callable == [c[1:] for c in by_model]


def test_template_errors_are_counted_and_other_errors_raised(wildchat):
    class TemplateError(Exception):
        pass

    def rejects_multi_turn(conversation):
        if len(conversation) > 1:
            raise TemplateError("roles must alternate")
        return [1] * len(conversation[0]["content"])

    got = construct_prompts(n_prompts=10, max_ctx_len=64, tokenizer=rejects_multi_turn, dataset=wildchat,
                            system_prompt=None)
    assert len(got) == 3 and difr_llm.prompts.prompt_set_stats["template_error"] == 1

    def broken(conversation):
        raise KeyError("bug")

    with pytest.raises(KeyError, match="bug"):
        construct_prompts(tokenizer=broken, dataset=wildchat)


def test_custom_prompts_and_missing_dataset(monkeypatch, tmp_path):
    convs = [[{"role": "user", "content": f"q{i}"}] for i in range(5)]
    got = construct_prompts(n_prompts=2, custom_prompts=convs, system_prompt="Be brief.")
    assert got == [[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "q0"}],
                   [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "q1"}]]
    monkeypatch.delenv("DIFR_CONVERSATIONS", raising=False)
    with pytest.raises(ValueError, match="local file: pass dataset="):
        construct_prompts(model_name=HF)
    with pytest.raises(ValueError, match="Either tokenizer or model_name must be provided"):
        construct_prompts(dataset=tmp_path / "x.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"conversation": [{"role": "user", "content": "ok"}]}\n{"conversation": 5}\n')
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        construct_prompts(model_name=HF, dataset=bad)


def test_answers_back_to_tokens(embedded):
    ids = encode_thinking_response("Paris.", "The capital of France", embedded, max_tokens=None)
    assert embedded.detokenize(ids) == "<think>The capital of France</think>Paris."
    assert encode_thinking_response("Paris.", "", embedded) == embedded.tokenize("Paris.")
    assert len(encode_thinking_response("one two three four", None, embedded, max_tokens=2)) == 2
    conv = [{"role": "user", "content": "Capital of France?"}]
    response = {"choices": [{"message": {"content": "Paris.", "reasoning": None}}]}
    [seq] = tokenize_openrouter_responses([conv], [response], embedded, max_tokens=100)
    assert seq.prompt_token_ids == embedded.chat_tokenize(conv)
    assert seq.output_token_ids == embedded.tokenize("Paris.")
    with pytest.raises(ValueError, match="1 conversations but 2 responses"):
        tokenize_openrouter_responses([conv], [response, response], embedded)
