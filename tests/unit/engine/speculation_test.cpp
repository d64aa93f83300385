// Speculative decoding by prompt lookup: the drafter on its own, then the generator and the
// scheduler on real models from ../shared, where speculation must leave every token (and
// every seeded random draw) as plain decoding gives it, while drafts are really accepted
// and really rejected.
#include "sluice/engine/speculation.hpp"

#include <gtest/gtest.h>

#include <future>
#include <random>
#include <thread>

#include "sluice/engine/generator.hpp"
#include "sluice/engine/scheduler.hpp"
#include "sluice/engine/tokenizer.hpp"
#include "sluice/grammar/grammar.hpp"
#include "support/shared_data.hpp"

namespace {

using namespace sluice;
using namespace std::chrono_literals;
using engine::token_id;

TEST(lookup_draft, copies_what_followed_the_latest_earlier_occurrence) {
    const std::vector<token_id> h = {1, 2, 3, 9, 9, 1, 2, 3, 7, 8, 5, 1, 2, 3};
    std::vector<token_id> d;
    EXPECT_EQ(engine::lookup_draft(h, 3, 2, d), 2u);
    EXPECT_EQ(d, (std::vector<token_id>{7, 8}));  // the match at 5, not the older one at 0
    d.assign({42});
    EXPECT_EQ(engine::lookup_draft(h, 2, 3, d), 3u);
    EXPECT_EQ(d, (std::vector<token_id>{42, 7, 8, 5}));  // appended
}

TEST(lookup_draft, runs_on_into_its_own_copy_through_a_loop) {
    const std::vector<token_id> h = {4, 5, 6, 5, 6, 5, 6};
    std::vector<token_id> d;
    EXPECT_EQ(engine::lookup_draft(h, 2, 5, d), 5u);
    EXPECT_EQ(d, (std::vector<token_id>{5, 6, 5, 6, 5}));
}

TEST(lookup_draft, proposes_nothing_without_an_earlier_occurrence) {
    std::vector<token_id> d;
    EXPECT_EQ(engine::lookup_draft(std::vector<token_id>{1, 2, 3, 4, 5}, 2, 8, d), 0u);
    EXPECT_EQ(engine::lookup_draft(std::vector<token_id>{1, 1}, 2, 8, d), 0u);  // the tail is not an earlier occurrence
    EXPECT_EQ(engine::lookup_draft(std::vector<token_id>{1, 2, 1, 2}, 2, 0, d), 0u);
    EXPECT_TRUE(d.empty());
}

TEST(walk_draft, stops_at_the_first_mismatch_and_when_emit_ends) {
    const std::vector<token_id> draft = {10, 11, 12};
    std::vector<token_id> sampled = {10, 11, 99, 13};
    std::size_t calls = 0;
    auto from = [&](std::size_t j) -> std::optional<token_id> {
        ++calls;
        return sampled[j];
    };
    EXPECT_EQ(engine::walk_draft(draft, from), 2u);  // rows 0, 1, 2 sampled; 12 rejected
    EXPECT_EQ(calls, 3u);
    sampled = {10, 11, 12, 13};
    calls = 0;
    EXPECT_EQ(engine::walk_draft(draft, from), 3u);  // all accepted, the bonus row sampled too
    EXPECT_EQ(calls, 4u);
    EXPECT_EQ(engine::walk_draft(draft, [](std::size_t j) -> std::optional<token_id> {
                  if (j == 1) return std::nullopt;
                  return 10;
              }),
              1u);
}

struct loaded_model {
    model::gguf_file file;
    engine::tokenizer tok;
    std::unique_ptr<engine::llm_model> m;
    explicit loaded_model(const std::filesystem::path& p)
        : file(model::gguf_file::open(p.string())), tok(engine::tokenizer::from_gguf(file)), m(engine::llm_model::load(file)) {}
};

engine::speculation_config spec_on(std::size_t ngram = 2, std::size_t max_draft = 8) { return {ngram, max_draft}; }

// A passage the model reads twice and then starts a third time: its continuation quotes it.
std::vector<token_id> repetitive_prompt(const engine::tokenizer& tok) {
    const std::string passage =
        "Once upon a time, there was a little girl named Lily. She loved to play with her red ball in the park. "
        "One day, she saw a big dog. The dog was friendly and wanted to play too. ";
    return tok.tokenize(passage + passage + "Once upon a time, there was", true, false);
}

// Random ids: little for the model to quote.
std::vector<token_id> random_prompt(std::size_t n_vocab, std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<token_id> p(n);
    for (auto& t : p) t = static_cast<token_id>(rng() % n_vocab);
    return p;
}

struct gen_run {
    engine::generation_result res;
    std::vector<token_id> streamed;  // as on_token saw them
    engine::speculation_stats stats;
};

gen_run generate(const loaded_model& lm, const engine::generation_request& r, engine::speculation_config spec, std::size_t n_ctx = 1024) {
    thread_pool pool(2);
    engine::generator g(*lm.m, lm.tok.get_vocab(), pool, n_ctx, engine::kv_precision::f16, spec);
    gen_run out;
    out.res = g.generate(r, [&](const engine::generated_token& t) {
        out.streamed.push_back(t.id);
        return true;
    });
    out.stats = g.speculation();
    return out;
}

void expect_same(const gen_run& plain, const gen_run& spec, const std::string& what) {
    EXPECT_EQ(spec.res.tokens, plain.res.tokens) << what;
    EXPECT_EQ(spec.streamed, plain.streamed) << what;
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

class speculation_model : public ::testing::TestWithParam<std::string> {};

// Greedy, long: a prompt whose continuation repeats (drafts accepted) and random ids (drafts
// mostly rejected); both walks must have run, and neither may change a token or a logprob.
TEST_P(speculation_model, greedy_output_is_unchanged_token_for_token) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/" + GetParam());
    const loaded_model lm(path);
    engine::generation_request r;
    r.max_tokens = 300;
    r.ignore_eos = true;
    r.sampling.temperature = 0;
    r.top_logprobs = 3;
    r.prompt = repetitive_prompt(lm.tok);
    const auto plain = generate(lm, r, {});
    const auto spec = generate(lm, r, spec_on());
    expect_same(plain, spec, GetParam() + " repetitive");
    EXPECT_EQ(plain.stats.drafted, 0u);
    // Deterministic counts (greedy): stories260K copies the passage, the random-weight models
    // fall into loops now and then.
    EXPECT_GE(spec.stats.accepted, 5u) << "speculation never paid off on a repetitive text";

    r.prompt = random_prompt(lm.m->n_vocab(), 40, 7);
    const auto plain2 = generate(lm, r, {});
    const auto spec2 = generate(lm, r, spec_on(3, 8));
    expect_same(plain2, spec2, GetParam() + " random");
    EXPECT_GT(spec.stats.drafted + spec2.stats.drafted, spec.stats.accepted + spec2.stats.accepted) << "no draft was ever rejected";
}

// Seeded sampling with penalties and a bias (the sampler edits logits and reads the history):
// one sampler call per token, so the draws, and the tokens, are those of plain decoding.
TEST_P(speculation_model, seeded_sampling_is_unchanged) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/" + GetParam());
    const loaded_model lm(path);
    engine::generation_request r;
    r.prompt = repetitive_prompt(lm.tok);
    r.max_tokens = 200;
    r.ignore_eos = true;
    r.logprobs = true;
    r.sampling.temperature = 0.7f;
    r.sampling.seed = 1234;
    r.sampling.repeat_penalty = 1.05f;
    r.sampling.logit_bias[5] = -2.0f;
    const auto plain = generate(lm, r, {});
    const auto spec = generate(lm, r, spec_on());
    expect_same(plain, spec, GetParam() + " sampled");
    EXPECT_GT(spec.stats.drafted, 0u);
}

INSTANTIATE_TEST_SUITE_P(shared, speculation_model, ::testing::Values("stories260K.gguf", "qfix-Q4_K_M.gguf", "llama3-Q6_K.gguf"),
                         [](const auto& p) {
                             std::string n = p.param.substr(0, p.param.find('.'));
                             for (auto& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                             return n;
                         });

// max_tokens and the context bound the draft: the output stops exactly where plain decoding's does.
TEST(speculation, stops_at_max_tokens_the_context_and_the_consumer) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/stories260K.gguf");
    const loaded_model lm(path);
    engine::generation_request r;
    r.prompt = repetitive_prompt(lm.tok);
    r.ignore_eos = true;
    r.sampling.temperature = 0;
    for (const int max : {1, 2, 5, 17, 33}) {
        r.max_tokens = max;
        const auto plain = generate(lm, r, {});
        const auto spec = generate(lm, r, spec_on(2, 16));
        expect_same(plain, spec, "max_tokens " + std::to_string(max));
        EXPECT_EQ(spec.res.tokens.size(), static_cast<std::size_t>(max));
    }
    r.max_tokens = -1;  // until the context is full
    const std::size_t n_ctx = r.prompt.size() + 37;
    const auto plain = generate(lm, r, {}, n_ctx);
    const auto spec = generate(lm, r, spec_on(2, 16), n_ctx);
    expect_same(plain, spec, "context");
    EXPECT_EQ(spec.res.finish, engine::finish_reason::length);
    // The consumer stops after 7 tokens: nothing is emitted past them.
    thread_pool pool(2);
    engine::generator g(*lm.m, lm.tok.get_vocab(), pool, 1024, engine::kv_precision::f16, spec_on(2, 16));
    r.max_tokens = 100;
    std::size_t seen = 0;
    const auto res = g.generate(r, [&](const engine::generated_token&) { return ++seen < 7; });
    EXPECT_EQ(seen, 7u);
    EXPECT_EQ(res.tokens.size(), 7u);
    EXPECT_EQ(res.finish, engine::finish_reason::cancelled);
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
        return stop_after == 0 || streamed->size() < stop_after;  // a stop string, as the pipeline ends one
    };
    job.on_done = [done, streamed](const engine::generation_result& res, const std::string& err) {
        if (!err.empty()) ADD_FAILURE() << "job failed: " << err;
        done->set_value({res, *streamed});
    };
    EXPECT_EQ(s.submit(std::move(job)), engine::scheduler::admission::accepted);
    return done->get_future();
}

// Several sequences at once, some drafting (repetitive prompts), some not (random ids, a
// grammar), greedy and seeded: each output equals its solo run without speculation; max_tokens
// and an early stop hold; every block is back at the end; drafts were accepted and rejected.
TEST(speculation, scheduler_outputs_equal_solo_plain_runs) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/qfix-Q4_K_M.gguf");
    const loaded_model lm(path);
    std::vector<engine::generation_request> reqs;
    std::vector<std::size_t> stops;
    for (int i = 0; i < 6; ++i) {
        engine::generation_request r;
        r.prompt = i % 3 == 2 ? random_prompt(lm.m->n_vocab(), 20 + static_cast<std::size_t>(i), static_cast<unsigned>(i))
                              : repetitive_prompt(lm.tok);
        if (i == 1) r.prompt.push_back(lm.tok.tokenize(" Lily", false, false).front());  // same text, its own continuation
        r.max_tokens = 60 + 23 * i;
        r.ignore_eos = true;
        r.top_logprobs = i == 0 ? 2 : 0;
        if (i % 2 == 1) {
            r.sampling.temperature = 0.8f;
            r.sampling.seed = 77 + static_cast<std::uint64_t>(i);
        } else {
            r.sampling.temperature = 0;
        }
        reqs.push_back(r);
        stops.push_back(i == 4 ? 31 : 0);
    }
    engine::generation_request constrained = reqs[0];  // decodes one token at a time beside the others
    constrained.grammar = grammar::parse_gbnf(R"(root ::= [a-z ]{20,40} ".")");
    constrained.top_logprobs = 0;
    reqs.push_back(constrained);
    stops.push_back(0);
    std::vector<sched_run> solo;
    {
        engine::scheduler one(*lm.m, lm.tok.get_vocab(), sched_config(1, {}), &lm.tok);
        for (std::size_t i = 0; i < reqs.size(); ++i) solo.push_back(submit(one, reqs[i], stops[i]).get());
        EXPECT_EQ(one.current_load().speculation.drafted, 0u);
    }
    engine::scheduler many(*lm.m, lm.tok.get_vocab(), sched_config(4, spec_on(2, 8)), &lm.tok);
    std::vector<std::future<sched_run>> futures;
    for (std::size_t i = 0; i < reqs.size(); ++i) futures.push_back(submit(many, reqs[i], stops[i]));
    for (std::size_t i = 0; i < reqs.size(); ++i) {
        const auto got = futures[i].get();
        EXPECT_EQ(got.res.tokens, solo[i].res.tokens) << "request " << i;
        EXPECT_EQ(got.streamed, solo[i].streamed) << "request " << i;
        EXPECT_EQ(got.res.finish, solo[i].res.finish) << "request " << i;
        EXPECT_EQ(got.res.top_logprobs.size(), solo[i].res.top_logprobs.size()) << "request " << i;
        const std::size_t want = stops[i] > 0 ? stops[i] : static_cast<std::size_t>(reqs[i].max_tokens);
        if (!reqs[i].grammar) {
            EXPECT_EQ(got.res.tokens.size(), want) << "request " << i;
        }
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
}

// A repeated prompt after a speculating run is served from the prefix cache: the blocks it
// published hold accepted tokens only, so the second run's tokens are the first's.
TEST(speculation, the_prefix_cache_keeps_only_accepted_rows) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/stories260K.gguf");
    const loaded_model lm(path);
    engine::scheduler s(*lm.m, lm.tok.get_vocab(), sched_config(2, spec_on(2, 8)));
    engine::generation_request r;
    r.prompt = repetitive_prompt(lm.tok);
    r.max_tokens = 120;
    r.ignore_eos = true;
    r.sampling.temperature = 0;
    const auto first = submit(s, r).get();
    // The whole first output, prompt and all, comes back as a prompt: its blocks are cached.
    engine::generation_request again = r;
    again.prompt.insert(again.prompt.end(), first.res.tokens.begin(), first.res.tokens.end());
    again.max_tokens = 40;
    const auto second = submit(s, again).get();
    EXPECT_GT(second.res.cached_tokens, r.prompt.size());
    engine::scheduler plain(*lm.m, lm.tok.get_vocab(), sched_config(1, {}));
    const auto fresh = submit(plain, again).get();
    EXPECT_EQ(fresh.res.cached_tokens, 0u);
    EXPECT_EQ(second.res.tokens, fresh.res.tokens);
    EXPECT_GT(s.current_load().speculation.drafted, s.current_load().speculation.accepted);
}

// Its recurrent state cannot forget rejected drafts: neither path drafts, and the output
// is plain decoding's.
TEST(speculation, a_recurrent_model_does_not_speculate) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/qwen35-Q8_0.gguf");
    const loaded_model lm(path);
    thread_pool pool(2);
    engine::generator g(*lm.m, lm.tok.get_vocab(), pool, 256, engine::kv_precision::f16, spec_on());
    EXPECT_FALSE(g.speculates());
    engine::generation_request r;
    r.prompt = repetitive_prompt(lm.tok);
    r.max_tokens = 40;
    r.ignore_eos = true;
    r.sampling.temperature = 0;
    engine::scheduler on(*lm.m, lm.tok.get_vocab(), sched_config(2, spec_on()));
    engine::scheduler off(*lm.m, lm.tok.get_vocab(), sched_config(2, {}));
    EXPECT_EQ(submit(on, r).get().res.tokens, submit(off, r).get().res.tokens);
    EXPECT_EQ(on.current_load().speculation.drafted, 0u);
}

}  // namespace
