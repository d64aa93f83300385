// Speculative decoding with a draft model: the vocabulary check, the drafter on its own
// (greedy drafts, p-min, draft-min, rollback), then the generator and the scheduler on real
// models from ../shared, where the output must stay plain decoding's token for token while
// drafts are really accepted (a model as its own draft: all of them) and really rejected.
#include "sluice/engine/model_drafter.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <future>
#include <random>
#include <thread>

#include "sluice/engine/generator.hpp"
#include "sluice/engine/scheduler.hpp"
#include "sluice/engine/tokenizer.hpp"
#include "sluice/grammar/grammar.hpp"
#include "sluice/util/error.hpp"
#include "support/shared_data.hpp"

namespace {

using namespace sluice;
using namespace std::chrono_literals;
using engine::token_id;

struct loaded_model {
    model::gguf_file file;
    engine::tokenizer tok;
    std::unique_ptr<engine::llm_model> m;
    explicit loaded_model(const std::filesystem::path& p)
        : file(model::gguf_file::open(p.string())), tok(engine::tokenizer::from_gguf(file)), m(engine::llm_model::load(file)) {}
};

// The target and a draft model: the same random weights quantised twice (they agree often,
// not always).
constexpr const char* k_target = "models/qfix-Q8_0.gguf";
constexpr const char* k_draft = "models/qfix-Q4_0.gguf";

engine::speculation_config with_draft(const engine::llm_model& d, std::size_t max = 8, float p_min = 0, std::size_t min = 0) {
    engine::speculation_config c;
    c.max_draft = max;
    c.draft_model = &d;
    c.p_min = p_min;
    c.min_draft = min;
    return c;
}

std::vector<token_id> repetitive_prompt(const engine::tokenizer& tok) {
    const std::string passage =
        "Once upon a time, there was a little girl named Lily. She loved to play with her red ball in the park. "
        "One day, she saw a big dog. The dog was friendly and wanted to play too. ";
    return tok.tokenize(passage + passage + "Once upon a time, there was", true, false);
}

std::vector<token_id> random_prompt(std::size_t n_vocab, std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<token_id> p(n);
    for (auto& t : p) t = static_cast<token_id>(rng() % n_vocab);
    return p;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
}

TEST(check_draft_vocabulary, accepts_the_same_vocabulary_and_names_what_differs) {
    SLUICE_SHARED_PATH_OR_SKIP(target, k_target);
    SLUICE_SHARED_PATH_OR_SKIP(draft, k_draft);
    SLUICE_SHARED_PATH_OR_SKIP(stories, "models/stories260K.gguf");  // another model, the same 512-token vocabulary
    SLUICE_SHARED_PATH_OR_SKIP(qwen, "models/qwen3-Q4_0.gguf");
    SLUICE_SHARED_PATH_OR_SKIP(llama, "models/llama3-Q6_K.gguf");
    const loaded_model t(target), d(draft), o(stories), q(qwen), l(llama);
    EXPECT_NO_THROW(engine::check_draft_vocabulary(t.tok.get_vocab(), d.tok.get_vocab()));
    EXPECT_NO_THROW(engine::check_draft_vocabulary(t.tok.get_vocab(), t.tok.get_vocab()));
    EXPECT_NO_THROW(engine::check_draft_vocabulary(t.tok.get_vocab(), o.tok.get_vocab()));
    for (const loaded_model* other : {&q, &l}) {
        const std::string e = error_of([&] { engine::check_draft_vocabulary(t.tok.get_vocab(), other->tok.get_vocab()); });
        EXPECT_NE(e.find("the draft model's vocabulary is not the target model's: tokenizer"), std::string::npos) << e;
    }
    const std::string e = error_of([&] { engine::check_draft_vocabulary(q.tok.get_vocab(), l.tok.get_vocab()); });
    EXPECT_NE(e.find("the draft model's vocabulary is not the target model's"), std::string::npos) << e;
}

// The draft model's own probability of each greedy draft token, computed one forward pass
// at a time over a plain single-sequence cache (the oracle for p-min).
std::vector<float> draft_top_probs(const engine::llm_model& m, std::vector<token_id> history, std::span<const token_id> draft) {
    thread_pool pool(2);
    engine::transformer tf(m, pool);
    engine::kv_cache cache(m, 1024);
    std::vector<float> logits, probs;
    tf.forward(history, cache, logits);
    for (const token_id t : draft) {
        const auto best = std::max_element(logits.begin(), logits.end());
        EXPECT_EQ(best - logits.begin(), t) << "not the greedy draft";
        double z = 0;
        for (const float l : logits) z += std::exp(static_cast<double>(l - *best));
        probs.push_back(static_cast<float>(1.0 / z));
        tf.forward(std::vector<token_id>{t}, cache, logits);
    }
    return probs;
}

TEST(model_drafter, drafts_greedily_and_stops_at_p_min_and_drops_short_drafts) {
    SLUICE_SHARED_PATH_OR_SKIP(path, k_draft);
    const loaded_model d(path);
    thread_pool pool(2);
    const auto history = repetitive_prompt(d.tok);
    const std::size_t n_vocab = d.m->n_vocab();
    auto draft_with = [&](float p_min, std::size_t min) {
        engine::model_drafter dr(*d.m, pool, 1, 1024, with_draft(*d.m, 8, p_min, min), n_vocab);
        std::vector<token_id> out = {42};  // appended to
        const engine::draft_request r{0, history, 8, &out};
        dr.draft({&r, 1}, 4096);
        return std::vector<token_id>(out.begin() + 1, out.end());
    };
    const auto full = draft_with(0, 0);
    ASSERT_EQ(full.size(), 8u);
    const auto probs = draft_top_probs(*d.m, history, full);
    // For each threshold just above one draft token's probability, the draft stops before the
    // first token under it.
    for (const float p : probs) {
        const float cut = p * 1.001f;
        std::size_t expect = 0;
        while (expect < probs.size() && probs[expect] >= cut) ++expect;
        const auto got = draft_with(cut, 0);
        EXPECT_EQ(got, std::vector<token_id>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(expect))) << "p-min " << cut;
        if (expect > 0) {
            EXPECT_TRUE(draft_with(cut, expect + 1).empty()) << "a draft shorter than draft-min is dropped";
            EXPECT_EQ(draft_with(cut, expect).size(), expect);
        }
    }
    EXPECT_TRUE(draft_with(1.0f + 1e-6f, 0).empty());
}

// A slot follows its sequence: after rejected drafts, or another sequence in the slot, it
// drafts what a fresh drafter drafts from the same history.
TEST(model_drafter, a_rolled_back_slot_drafts_as_a_fresh_one) {
    SLUICE_SHARED_PATH_OR_SKIP(path, k_draft);
    const loaded_model d(path);
    thread_pool pool(2);
    const auto cfg = with_draft(*d.m, 6);
    engine::model_drafter reused(*d.m, pool, 2, 512, cfg, d.m->n_vocab());
    std::vector<token_id> history = repetitive_prompt(d.tok);
    for (int step = 0; step < 6; ++step) {
        std::vector<token_id> a, b;
        const engine::draft_request r{1, history, 6, &a};
        reused.draft({&r, 1}, 4096);
        engine::model_drafter fresh(*d.m, pool, 1, 512, cfg, d.m->n_vocab());
        const engine::draft_request f{0, history, 6, &b};
        fresh.draft({&f, 1}, 4096);
        EXPECT_EQ(a, b) << "step " << step;
        // Accept a prefix of the draft and a "target" token that differs from the next draft.
        const std::size_t keep = static_cast<std::size_t>(step) % a.size();
        history.insert(history.end(), a.begin(), a.begin() + static_cast<std::ptrdiff_t>(keep));
        history.push_back(static_cast<token_id>((a[keep] + 1) % static_cast<token_id>(d.m->n_vocab())));
        if (step == 3) history = random_prompt(d.m->n_vocab(), 30, 5);  // another sequence takes the slot
    }
    // Catch-up is bounded: with a budget of 10 a long history gets no draft yet.
    std::vector<token_id> none;
    engine::model_drafter slow(*d.m, pool, 1, 512, cfg, d.m->n_vocab());
    const auto prompt = repetitive_prompt(d.tok);
    const engine::draft_request r{0, prompt, 6, &none};
    EXPECT_EQ(slow.draft({&r, 1}, 10), 10u);
    EXPECT_TRUE(none.empty());
}

struct gen_run {
    engine::generation_result res;
    engine::speculation_stats stats;
};

gen_run generate(const loaded_model& lm, const engine::generation_request& r, engine::speculation_config spec, std::size_t n_ctx = 1024) {
    thread_pool pool(2);
    engine::generator g(*lm.m, lm.tok.get_vocab(), pool, n_ctx, engine::kv_precision::f16, spec);
    gen_run out{g.generate(r), g.speculation()};
    return out;
}

void expect_same(const gen_run& plain, const gen_run& spec, const std::string& what) {
    EXPECT_EQ(spec.res.tokens, plain.res.tokens) << what;
    EXPECT_EQ(spec.res.finish, plain.res.finish) << what;
    ASSERT_EQ(spec.res.top_logprobs.size(), plain.res.top_logprobs.size()) << what;
    for (std::size_t i = 0; i < plain.res.top_logprobs.size(); ++i) {
        ASSERT_EQ(spec.res.top_logprobs[i].size(), plain.res.top_logprobs[i].size());
        for (std::size_t k = 0; k < plain.res.top_logprobs[i].size(); ++k) {
            EXPECT_EQ(spec.res.top_logprobs[i][k].id, plain.res.top_logprobs[i][k].id) << what << " position " << i;
            EXPECT_EQ(spec.res.top_logprobs[i][k].logprob, plain.res.top_logprobs[i][k].logprob) << what << " position " << i;
        }
    }
}

engine::generation_request greedy(std::vector<token_id> prompt, int max_tokens) {
    engine::generation_request r;
    r.prompt = std::move(prompt);
    r.max_tokens = max_tokens;
    r.ignore_eos = true;
    r.sampling.temperature = 0;
    r.top_logprobs = 2;
    return r;
}

// A model drafting for itself proposes exactly what greedy decoding picks: every draft is
// accepted (the strongest check that the drafter's KV follows the sequence), and the output
// is plain decoding's. gemma3 has sliding-window layers (the draft slot keeps every position).
class self_draft : public ::testing::TestWithParam<std::string> {};

TEST_P(self_draft, accepts_every_draft_under_greedy_decoding) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/" + GetParam());
    const loaded_model lm(path);
    const auto r = greedy(repetitive_prompt(lm.tok), 120);
    const auto plain = generate(lm, r, {});
    const auto spec = generate(lm, r, with_draft(*lm.m, 8));
    expect_same(plain, spec, GetParam());
    EXPECT_GT(spec.stats.drafted, 100u);
    EXPECT_EQ(spec.stats.accepted, spec.stats.drafted);
}

INSTANTIATE_TEST_SUITE_P(shared, self_draft, ::testing::Values("qfix-Q4_0.gguf", "stories260K.gguf", "gemma3-Q8_0.gguf"), [](const auto& p) {
    std::string n = p.param.substr(0, p.param.find('.'));
    for (auto& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    return n;
});

// A different compatible model: drafts accepted and rejected, greedy and seeded sampling
// (penalties and a bias: the sampler edits the logits and reads the history) unchanged, and
// max_tokens and the context hold.
TEST(model_draft, another_model_leaves_greedy_and_seeded_outputs_unchanged) {
    SLUICE_SHARED_PATH_OR_SKIP(tp, k_target);
    SLUICE_SHARED_PATH_OR_SKIP(dp, k_draft);
    const loaded_model t(tp), d(dp);
    auto r = greedy(repetitive_prompt(t.tok), 200);
    const auto plain = generate(t, r, {});
    const auto spec = generate(t, r, with_draft(*d.m, 8));
    expect_same(plain, spec, "greedy");
    EXPECT_GT(spec.stats.accepted, 20u);
    EXPECT_GT(spec.stats.drafted, spec.stats.accepted) << "no draft was rejected";

    r.top_logprobs = 0;
    r.logprobs = true;
    r.sampling.temperature = 0.7f;
    r.sampling.seed = 99;
    r.sampling.repeat_penalty = 1.05f;
    r.sampling.logit_bias[5] = -2.0f;
    expect_same(generate(t, r, {}), generate(t, r, with_draft(*d.m, 16, 0.1f)), "seeded");

    for (const int max : {1, 2, 9}) {
        const auto q = greedy(repetitive_prompt(t.tok), max);
        const auto s = generate(t, q, with_draft(*d.m, 16));
        expect_same(generate(t, q, {}), s, "max_tokens " + std::to_string(max));
        EXPECT_EQ(s.res.tokens.size(), static_cast<std::size_t>(max));
    }
    auto full = greedy(repetitive_prompt(t.tok), -1);
    const std::size_t n_ctx = full.prompt.size() + 29;
    const auto s = generate(t, full, with_draft(*d.m, 16), n_ctx);
    expect_same(generate(t, full, {}, n_ctx), s, "context");
    EXPECT_EQ(s.res.finish, engine::finish_reason::length);
}

TEST(model_draft, recurrent_models_are_refused_as_target_and_as_draft) {
    SLUICE_SHARED_PATH_OR_SKIP(rp, "models/qwen35-Q8_0.gguf");
    SLUICE_SHARED_PATH_OR_SKIP(dp, k_draft);
    const loaded_model rec(rp), d(dp);
    thread_pool pool(2);
    const std::string as_target = error_of([&] { engine::generator g(*rec.m, rec.tok.get_vocab(), pool, 256, engine::kv_precision::f16, with_draft(*rec.m)); });
    EXPECT_NE(as_target.find("recurrent layers"), std::string::npos) << as_target;
    const std::string as_draft = error_of([&] { engine::model_drafter dr(*rec.m, pool, 1, 256, with_draft(*rec.m), rec.m->n_vocab()); });
    EXPECT_NE(as_draft.find("the draft model has recurrent layers"), std::string::npos) << as_draft;
    engine::scheduler_config c;
    c.n_ctx = 256;
    c.speculation = with_draft(*d.m);
    const std::string sched = error_of([&] { engine::scheduler s(*rec.m, rec.tok.get_vocab(), c); });
    EXPECT_NE(sched.find("recurrent layers"), std::string::npos) << sched;
}

// --- the scheduler ---

engine::scheduler_config sched_config(std::size_t parallel, engine::speculation_config spec) {
    engine::scheduler_config c;
    c.parallel = parallel;
    c.queue_size = 16;
    c.n_ctx = 512;
    c.threads = 2;
    c.prefill_chunk = 16;
    c.cache_bytes = 8u << 20;
    c.speculation = spec;
    return c;
}

struct sched_run {
    engine::generation_result res;
    std::vector<token_id> streamed;
};

std::future<sched_run> submit(engine::scheduler& s, const engine::generation_request& r, std::size_t stop_after = 0) {
    auto done = std::make_shared<std::promise<sched_run>>();
    auto streamed = std::make_shared<std::vector<token_id>>();
    engine::generation_job job;
    job.request = r;
    job.on_token = [streamed, stop_after](const engine::generated_token& t) {
        streamed->push_back(t.id);
        return stop_after == 0 || streamed->size() < stop_after;
    };
    job.on_done = [done, streamed](const engine::generation_result& res, const std::string& err) {
        if (!err.empty()) ADD_FAILURE() << "job failed: " << err;
        done->set_value({res, *streamed});
    };
    EXPECT_EQ(s.submit(std::move(job)), engine::scheduler::admission::accepted);
    return done->get_future();
}

// More jobs than slots (slots change hands), drafting and not (a grammar), greedy and seeded,
// an early stop: each output equals its solo run without speculation; every block is back;
// drafts were accepted and rejected; the draft KV is accounted for.
TEST(model_draft, scheduler_outputs_equal_solo_plain_runs) {
    SLUICE_SHARED_PATH_OR_SKIP(tp, k_target);
    SLUICE_SHARED_PATH_OR_SKIP(dp, k_draft);
    const loaded_model t(tp), d(dp);
    std::vector<engine::generation_request> reqs;
    std::vector<std::size_t> stops;
    for (int i = 0; i < 6; ++i) {
        engine::generation_request r;
        r.prompt = i % 3 == 2 ? random_prompt(t.m->n_vocab(), 20 + static_cast<std::size_t>(i), static_cast<unsigned>(i))
                              : repetitive_prompt(t.tok);
        if (i == 1) r.prompt.push_back(t.tok.tokenize(" Lily", false, false).front());
        r.max_tokens = 50 + 19 * i;
        r.ignore_eos = true;
        r.top_logprobs = i == 0 ? 2 : 0;
        r.sampling.temperature = i % 2 == 1 ? 0.8f : 0.0f;
        r.sampling.seed = 77 + static_cast<std::uint64_t>(i);
        reqs.push_back(r);
        stops.push_back(i == 4 ? 27 : 0);
    }
    engine::generation_request constrained = reqs[0];
    constrained.grammar = grammar::parse_gbnf(R"(root ::= [a-z ]{20,40} ".")");
    constrained.top_logprobs = 0;
    reqs.push_back(constrained);
    stops.push_back(0);
    std::vector<sched_run> solo;
    {
        engine::scheduler one(*t.m, t.tok.get_vocab(), sched_config(1, {}), &t.tok);
        for (std::size_t i = 0; i < reqs.size(); ++i) solo.push_back(submit(one, reqs[i], stops[i]).get());
    }
    engine::scheduler many(*t.m, t.tok.get_vocab(), sched_config(3, with_draft(*d.m, 8)), &t.tok);
    EXPECT_EQ(many.draft_kv_bytes(), engine::model_drafter::kv_bytes(*d.m, 3, 512));
    EXPECT_GT(many.draft_kv_bytes(), 0u);
    std::vector<std::future<sched_run>> futures;
    for (std::size_t i = 0; i < reqs.size(); ++i) futures.push_back(submit(many, reqs[i], stops[i]));
    for (std::size_t i = 0; i < reqs.size(); ++i) {
        const auto got = futures[i].get();
        EXPECT_EQ(got.res.tokens, solo[i].res.tokens) << "request " << i;
        EXPECT_EQ(got.streamed, solo[i].streamed) << "request " << i;
        EXPECT_EQ(got.res.finish, solo[i].res.finish) << "request " << i;
        EXPECT_EQ(got.res.top_logprobs.size(), solo[i].res.top_logprobs.size()) << "request " << i;
    }
    auto load = many.current_load();
    for (int i = 0; i < 100 && (load.kv_used != 0 || load.running != 0); ++i) {
        std::this_thread::sleep_for(10ms);
        load = many.current_load();
    }
    EXPECT_EQ(load.running, 0u);
    EXPECT_EQ(load.kv_used, 0u);
    EXPECT_GT(load.speculation.accepted, 30u);
    EXPECT_GT(load.speculation.drafted, load.speculation.accepted);

    // The target as its own draft, greedy jobs through two slots: every draft accepted (the
    // slots follow their sequences across steps, rollbacks and changes of hands; no job stops
    // early, which would leave the rest of a draft unaccepted).
    engine::scheduler self(*t.m, t.tok.get_vocab(), sched_config(2, with_draft(*t.m, 8)), &t.tok);
    std::vector<std::future<sched_run>> greedy_runs;
    for (const std::size_t i : {0u, 2u, 0u, 2u}) greedy_runs.push_back(submit(self, reqs[i], stops[i]));
    std::size_t k = 0;
    for (const std::size_t i : {0u, 2u, 0u, 2u}) EXPECT_EQ(greedy_runs[k++].get().res.tokens, solo[i].res.tokens) << "request " << i;
    const auto own = self.current_load().speculation;
    EXPECT_GT(own.drafted, 100u);
    EXPECT_EQ(own.accepted, own.drafted);
}

// The draft model's KV comes out of kv_bytes: a bound that holds the target's KV but not the
// draft model's on top is refused, naming it.
TEST(model_draft, the_draft_kv_is_taken_out_of_the_kv_bound) {
    SLUICE_SHARED_PATH_OR_SKIP(tp, k_target);
    SLUICE_SHARED_PATH_OR_SKIP(dp, k_draft);
    const loaded_model t(tp), d(dp);
    auto c = sched_config(2, with_draft(*d.m, 8));
    const std::size_t draft_bytes = engine::model_drafter::kv_bytes(*d.m, 2, c.n_ctx);
    c.kv_bytes = draft_bytes;
    const std::string e = error_of([&] { engine::scheduler s(*t.m, t.tok.get_vocab(), c); });
    EXPECT_NE(e.find("draft model's KV"), std::string::npos) << e;
    c.kv_bytes = draft_bytes + engine::kv_cache::block_bytes(*t.m, c.block_size, engine::kv_precision::f16) * 8;
    engine::scheduler s(*t.m, t.tok.get_vocab(), c);
    EXPECT_EQ(s.current_load().kv_blocks, 8u);
}

}  // namespace
