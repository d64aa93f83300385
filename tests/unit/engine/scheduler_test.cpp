// The scheduler against real models from ../shared: batching does not change any
// request's tokens, cancellation and finishing free KV blocks, the queue is bounded,
// and the prefix cache serves repeated prompts exactly.
#include "sluice/engine/scheduler.hpp"

#include <gtest/gtest.h>

#include <future>
#include <random>
#include <thread>

#include "sluice/engine/kv_cache.hpp"
#include "sluice/engine/token_constraint.hpp"
#include "sluice/util/error.hpp"
#include "sluice/engine/tokenizer.hpp"
#include "support/shared_data.hpp"

namespace {

using namespace sluice;
using namespace std::chrono_literals;

struct loaded_model {
    model::gguf_file file;
    engine::tokenizer tok;
    std::unique_ptr<engine::llm_model> m;
    explicit loaded_model(const std::filesystem::path& p)
        : file(model::gguf_file::open(p.string())), tok(engine::tokenizer::from_gguf(file)), m(engine::llm_model::load(file)) {}
};

engine::scheduler_config config(std::size_t parallel, std::size_t prefill_chunk = 16) {
    engine::scheduler_config c;
    c.parallel = parallel;
    c.queue_size = 16;
    c.n_ctx = 256;
    c.threads = 2;
    c.prefill_chunk = prefill_chunk;
    c.cache_bytes = 8u << 20;
    return c;
}

engine::generation_job job_of(const engine::generation_request& r) {
    engine::generation_job job;
    job.request = r;
    return job;
}

// Submits a job and hands back its result when it finishes.
std::future<engine::generation_result> submit(engine::scheduler& s, engine::generation_job job) {
    auto done = std::make_shared<std::promise<engine::generation_result>>();
    auto fut = done->get_future();
    job.on_done = [done](const engine::generation_result& r, const std::string& err) {
        if (!err.empty()) ADD_FAILURE() << "job failed: " << err;
        done->set_value(r);
    };
    EXPECT_EQ(s.submit(std::move(job)), engine::scheduler::admission::accepted);
    return fut;
}

// Eight requests of different lengths (across several blocks and prefill chunks), two
// sharing a long prefix; half greedy, half sampled with a seed.
std::vector<engine::generation_request> mixed_requests(std::size_t n_vocab) {
    std::mt19937 rng(3);
    std::vector<engine::generation_request> out;
    std::vector<engine::token_id> shared_prefix(40);
    for (auto& t : shared_prefix) t = static_cast<engine::token_id>(rng() % n_vocab);
    for (int i = 0; i < 8; ++i) {
        engine::generation_request r;
        const std::size_t len = 3 + static_cast<std::size_t>(i) * 11;
        if (i == 5 || i == 6) r.prompt = shared_prefix;
        while (r.prompt.size() < len + (i == 5 || i == 6 ? 40u : 0u)) r.prompt.push_back(static_cast<engine::token_id>(rng() % n_vocab));
        r.max_tokens = 20;
        r.ignore_eos = true;
        if (i % 2 == 1) {
            r.sampling.temperature = 0.9f;
            r.sampling.seed = 1000 + static_cast<std::uint64_t>(i);
        } else {
            r.sampling.temperature = 0;
        }
        r.logprobs = true;
        out.push_back(r);
    }
    return out;
}

class scheduler_model : public ::testing::TestWithParam<std::string> {};

TEST_P(scheduler_model, concurrent_requests_produce_the_tokens_they_produce_alone) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/" + GetParam());
    const loaded_model lm(path);
    const auto requests = mixed_requests(lm.m->n_vocab());

    std::vector<engine::generation_result> alone;
    {
        engine::scheduler one(*lm.m, lm.tok.get_vocab(), config(1, 64));
        for (const auto& r : requests) alone.push_back(submit(one, job_of(r)).get());
    }
    for (const std::size_t parallel : {8u, 3u}) {
        engine::scheduler many(*lm.m, lm.tok.get_vocab(), config(parallel, 16));
        std::vector<std::future<engine::generation_result>> futures;
        for (const auto& r : requests) futures.push_back(submit(many, job_of(r)));
        for (std::size_t i = 0; i < requests.size(); ++i) {
            const auto got = futures[i].get();
            EXPECT_EQ(got.tokens, alone[i].tokens) << GetParam() << " request " << i << " with parallel " << parallel;
            EXPECT_EQ(got.tokens.size(), 20u);
        }
    }
    // The sequential run reused the shared prefix (request 6 after 5), the output did not
    // change: two whole blocks, then the 8 shared rows of request 5's third block, copied
    // (for gemma3 its sliding-window rows too, from their own pool).
    EXPECT_EQ(alone[6].cached_tokens, 40u);
    EXPECT_EQ(alone[5].cached_tokens, 0u);
}

// qfix-Q4_1 .. Q5_K_M: every other integer-GEMM type (Q4_1, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) end to end.
INSTANTIATE_TEST_SUITE_P(shared, scheduler_model,
                         ::testing::Values("stories260K.gguf", "qfix-Q4_0.gguf", "qwen3-Q4_0.gguf", "qfix-Q4_1.gguf", "qfix-Q5_1.gguf",
                                           "qfix-Q2_K.gguf", "qfix-Q3_K_M.gguf", "qfix-Q5_K_M.gguf", "qwen3moe-Q4_K_M.gguf",
                                           "gemma3-Q8_0.gguf"),
                         [](const auto& p) {
                             std::string n = p.param.substr(0, p.param.find('.'));
                             for (auto& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                             return n;
                         });

// Constrained and unconstrained jobs share batches: every constrained output matches its
// grammar (checked by a fresh matcher), forced continuations are appended without
// sampling, and batching changes no job's tokens.
TEST(scheduler, constrained_jobs_follow_their_grammar_in_mixed_batches) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/qwen3-Q4_0.gguf");
    const loaded_model lm(path);
    const auto g = grammar::parse_gbnf(R"(root ::= "{\"name\": \"" [a-z]{1,12} "\", \"age\": " [0-9]{1,3} "}")");
    auto requests = mixed_requests(lm.m->n_vocab());
    for (std::size_t i = 0; i < requests.size(); i += 2) {
        requests[i].grammar = g;
        requests[i].max_tokens = 60;
    }
    std::vector<engine::generation_result> alone;
    {
        engine::scheduler one(*lm.m, lm.tok.get_vocab(), config(1, 64), &lm.tok);
        for (const auto& r : requests) alone.push_back(submit(one, job_of(r)).get());
    }
    engine::scheduler many(*lm.m, lm.tok.get_vocab(), config(8, 16), &lm.tok);
    std::vector<std::future<engine::generation_result>> futures;
    for (const auto& r : requests) futures.push_back(submit(many, job_of(r)));
    const auto vocab = engine::grammar_vocabulary(lm.tok);
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const auto got = futures[i].get();
        EXPECT_EQ(got.tokens, alone[i].tokens) << "request " << i;
        if (!requests[i].grammar) continue;
        const std::string text = lm.tok.detokenize(got.tokens, false, false);
        grammar::matcher check(g, vocab);
        EXPECT_TRUE(check.accept_bytes(text)) << text;
        if (got.finish == engine::finish_reason::stop) {
            EXPECT_TRUE(check.is_complete()) << text;
        }
        EXPECT_GE(got.forced_tokens, 3u) << text;  // '{"name": "' at least, then '", "age": '
    }
    // Without a tokenizer the scheduler cannot run constrained jobs and says so.
    engine::scheduler plain(*lm.m, lm.tok.get_vocab(), config(1));
    EXPECT_THROW((void)plain.submit(job_of(requests[0])), sluice::error);
}

TEST(scheduler, cancelled_and_finished_requests_free_their_blocks) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/stories260K.gguf");
    const loaded_model lm(path);
    engine::scheduler s(*lm.m, lm.tok.get_vocab(), config(2));
    engine::generation_job job;
    job.request.prompt = {1, 50, 60, 70};
    job.request.max_tokens = 200;
    job.request.ignore_eos = true;
    job.request.sampling.temperature = 0;
    auto cancelled = job.cancelled;
    std::atomic<int> seen{0};
    job.on_token = [&, cancelled](const engine::generated_token&) {
        if (++seen == 5) cancelled->store(true);
        return true;
    };
    const auto r = submit(s, std::move(job)).get();
    EXPECT_EQ(r.finish, engine::finish_reason::cancelled);
    EXPECT_LT(r.tokens.size(), 10u);
    auto load = s.current_load();
    for (int i = 0; i < 100 && (load.kv_used != 0 || load.running != 0); ++i) {
        std::this_thread::sleep_for(10ms);
        load = s.current_load();
    }
    EXPECT_EQ(load.running, 0u);
    EXPECT_EQ(load.kv_used, 0u);
    EXPECT_GT(load.kv_blocks, 0u);
}

TEST(scheduler, refuses_beyond_the_queue_and_what_can_never_fit) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/stories260K.gguf");
    const loaded_model lm(path);
    auto cfg = config(1);
    cfg.queue_size = 1;
    engine::scheduler s(*lm.m, lm.tok.get_vocab(), cfg);
    std::vector<std::shared_ptr<std::atomic<bool>>> flags;
    std::vector<std::future<engine::generation_result>> futures;
    auto long_job = [&] {
        engine::generation_job job;
        job.request.prompt = {1, 2, 3};
        job.request.max_tokens = 250;
        job.request.ignore_eos = true;
        flags.push_back(job.cancelled);
        return job;
    };
    futures.push_back(submit(s, long_job()));
    futures.push_back(submit(s, long_job()));
    EXPECT_EQ(s.submit(long_job()), engine::scheduler::admission::queue_full);
    engine::generation_job huge = long_job();
    huge.request.max_tokens = 254;  // 3 + 254 > 256
    EXPECT_EQ(s.submit(std::move(huge)), engine::scheduler::admission::too_large);
    for (auto& f : flags) f->store(true);
    for (auto& f : futures) EXPECT_EQ(f.get().finish, engine::finish_reason::cancelled);
    // Capacity is back once they are done.
    flags.clear();
    auto again = long_job();
    again.request.max_tokens = 2;
    EXPECT_EQ(submit(s, std::move(again)).get().tokens.size(), 2u);
}

// A greedy 8-token request over a 100-token prompt (six full blocks and a partial one);
// `stride` varies the prompt.
engine::generation_request greedy_prompt_of_100(int stride) {
    engine::generation_request r;
    for (int i = 0; i < 100; ++i) r.prompt.push_back(static_cast<engine::token_id>(1 + (i * stride) % 500));
    r.max_tokens = 8;
    r.ignore_eos = true;
    r.sampling.temperature = 0;
    return r;
}

TEST(scheduler, a_repeated_prompt_is_served_from_the_prefix_cache) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/stories260K.gguf");
    const loaded_model lm(path);
    engine::scheduler s(*lm.m, lm.tok.get_vocab(), config(2));
    const engine::generation_request r = greedy_prompt_of_100(37);
    const auto first = submit(s, job_of(r)).get();
    const auto second = submit(s, job_of(r)).get();
    EXPECT_EQ(first.cached_tokens, 0u);
    // 6 whole blocks shared, then 3 rows of the first run's partly filled 7th block
    // (100 + 7 computed positions) copied: all but the one token left to compute.
    EXPECT_EQ(second.cached_tokens, 99u);
    EXPECT_EQ(second.tokens, first.tokens);
    // The next turn of a conversation: the previous prompt and answer are reused, up to
    // the last computed position (the answer's last token never went through the model).
    auto next = r;
    next.prompt.insert(next.prompt.end(), first.tokens.begin(), first.tokens.end());
    next.prompt.insert(next.prompt.end(), {5, 6, 7});
    const auto third = submit(s, job_of(next)).get();
    EXPECT_EQ(third.cached_tokens, 107u);
    EXPECT_EQ(s.current_load().cached_prompt_tokens, 206u);
    // What the copied rows give equals computing them: the same turn without a cache.
    engine::scheduler fresh(*lm.m, lm.tok.get_vocab(), config(2));
    EXPECT_EQ(submit(fresh, job_of(next)).get().tokens, third.tokens);
}

// A short prompt (under one block) asked again is not computed again: 11 of 12 tokens
// come from the first run's partial block.
TEST(scheduler, a_repeated_short_prompt_reuses_its_partial_block) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/stories260K.gguf");
    const loaded_model lm(path);
    engine::scheduler s(*lm.m, lm.tok.get_vocab(), config(2));
    engine::generation_request r = greedy_prompt_of_100(43);
    r.prompt.resize(12);
    const auto first = submit(s, job_of(r)).get();
    const auto second = submit(s, job_of(r)).get();
    EXPECT_EQ(first.cached_tokens, 0u);
    EXPECT_EQ(second.cached_tokens, 11u);
    EXPECT_EQ(second.tokens, first.tokens);
}

// n > 1 choices, or clients sending one long prompt at once: the second job waits for the
// first's prompt blocks instead of computing them again.
TEST(scheduler, identical_prompts_submitted_together_compute_the_prompt_once) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/stories260K.gguf");
    const loaded_model lm(path);
    engine::scheduler s(*lm.m, lm.tok.get_vocab(), config(2));
    const engine::generation_request r = greedy_prompt_of_100(41);
    auto a = submit(s, job_of(r));
    auto b = submit(s, job_of(r));
    const auto first = a.get(), second = b.get();
    EXPECT_EQ(first.cached_tokens, 0u);
    EXPECT_EQ(second.cached_tokens, 96u);
    EXPECT_EQ(second.tokens, first.tokens);
}

// qwen35 (recurrent layers): batching does not change any request's tokens, each running
// sequence computing through its own recurrent-state slot (3 or 8 at once; 8 requests).
TEST(scheduler, a_recurrent_model_batches_without_changing_tokens) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/qwen35-Q8_0.gguf");
    const loaded_model lm(path);
    const auto requests = mixed_requests(lm.m->n_vocab());
    std::vector<engine::generation_result> alone;
    {
        engine::scheduler one(*lm.m, lm.tok.get_vocab(), config(1, 64));
        for (const auto& r : requests) alone.push_back(submit(one, job_of(r)).get());
    }
    for (const std::size_t parallel : {8u, 3u}) {
        engine::scheduler many(*lm.m, lm.tok.get_vocab(), config(parallel, 16));
        std::vector<std::future<engine::generation_result>> futures;
        for (const auto& r : requests) futures.push_back(submit(many, job_of(r)));
        for (std::size_t i = 0; i < requests.size(); ++i) {
            const auto got = futures[i].get();
            EXPECT_EQ(got.tokens, alone[i].tokens) << "request " << i << " with parallel " << parallel;
            EXPECT_EQ(got.tokens.size(), 20u);
        }
    }
}

// qwen35: a cached prefix is resumed only where the recurrent state at its exact end was
// saved (a step ended on that block boundary: prompt chunks stop at the last boundary
// they cross, and at the end of a cached prefix they branch off; decoding passes every
// one); before that, from the longest saved one, or from the start. Either way the tokens
// are a fresh run's.
TEST(scheduler, a_recurrent_model_resumes_a_cached_prefix_only_from_a_saved_state) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/qwen35-Q8_0.gguf");
    const loaded_model lm(path);
    engine::scheduler s(*lm.m, lm.tok.get_vocab(), config(2, 64));
    auto no_cache = config(2, 64);
    no_cache.cache_bytes = 0;
    engine::scheduler fresh(*lm.m, lm.tok.get_vocab(), no_cache);
    engine::generation_request r = greedy_prompt_of_100(37);
    r.max_tokens = 30;
    const auto first = submit(s, job_of(r)).get();
    EXPECT_EQ(first.cached_tokens, 0u);
    EXPECT_EQ(first.tokens, submit(fresh, job_of(r)).get().tokens);
    // Alone, the prompt went in chunks 0-96 (stopped at the last block boundary it crossed)
    // and 96-100: the state at 96 was saved, the longest prefix that leaves a token to compute.
    // (A model without recurrent layers would lend 99: no state exists there.)
    const auto second = submit(s, job_of(r)).get();
    EXPECT_EQ(second.cached_tokens, 96u);
    EXPECT_EQ(second.tokens, first.tokens);
    // The next turn: decoding passed 128 (100 + 29 computed positions), saved there.
    auto next = r;
    next.prompt.insert(next.prompt.end(), first.tokens.begin(), first.tokens.end());
    next.prompt.insert(next.prompt.end(), {5, 6, 7});
    const auto third = submit(s, job_of(next)).get();
    EXPECT_EQ(third.cached_tokens, 128u);
    EXPECT_EQ(third.tokens, submit(fresh, job_of(next)).get().tokens);
    // A prompt that leaves the cached one at position 50: its first three blocks (48
    // positions) are cached KV, but no state was saved at 48, so it is computed from the
    // start -- and saves the state at 48, where it branched off.
    auto other = r;
    other.prompt[50] = other.prompt[50] == 7 ? 8 : 7;
    const auto fourth = submit(s, job_of(other)).get();
    EXPECT_EQ(fourth.cached_tokens, 0u);
    EXPECT_EQ(fourth.tokens, submit(fresh, job_of(other)).get().tokens);
    // Leaving it at position 70 resumes from 48 (and saves 64); the next one at 64.
    auto later = r;
    later.prompt[70] = later.prompt[70] == 7 ? 8 : 7;
    const auto fifth = submit(s, job_of(later)).get();
    EXPECT_EQ(fifth.cached_tokens, 48u);
    EXPECT_EQ(fifth.tokens, submit(fresh, job_of(later)).get().tokens);
    later.prompt[70] = later.prompt[70] == 9 ? 10 : 9;
    const auto sixth = submit(s, job_of(later)).get();
    EXPECT_EQ(sixth.cached_tokens, 64u);
    EXPECT_EQ(sixth.tokens, submit(fresh, job_of(later)).get().tokens);
    EXPECT_EQ(fresh.current_load().cached_prompt_tokens, 0u);
}

// qwen35: the recurrent state of every running sequence is part of the memory bound; a
// bound that cannot hold it is refused.
TEST(scheduler, a_recurrent_model_accounts_its_state_in_the_memory_bound) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/qwen35-Q8_0.gguf");
    const loaded_model lm(path);
    auto cfg = config(4);
    cfg.cache_bytes = 0;
    cfg.kv_bytes = 4 * engine::recurrent_state::slot_bytes(*lm.m);
    EXPECT_THROW(engine::scheduler(*lm.m, lm.tok.get_vocab(), cfg), sluice::error);
    cfg.kv_bytes += 4 * engine::kv_cache::block_bytes(*lm.m, cfg.block_size, engine::kv_precision::f16);
    engine::scheduler s(*lm.m, lm.tok.get_vocab(), cfg);
    EXPECT_EQ(s.max_sequence(), 64u);  // four blocks of 16 left for keys and values
    EXPECT_EQ(s.current_load().kv_blocks, 4u);
}

// Prompt logprobs (echo): one entry per prompt token after the first, reported before the
// first generated token, each the log-softmax of the logits that predicted it: the same
// alternatives a job ending at that position sees for its first token.
TEST(scheduler, prompt_logprobs_match_the_next_token_distribution_at_each_position) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/qwen3-Q4_0.gguf");
    const loaded_model lm(path);
    engine::scheduler s(*lm.m, lm.tok.get_vocab(), config(2));
    engine::generation_request r;
    for (int i = 0; i < 75; ++i) r.prompt.push_back(static_cast<engine::token_id>(100 + (i * 7919) % 30000));
    r.max_tokens = 2;
    r.ignore_eos = true;
    r.sampling.temperature = 0;
    // The prompt once in the cache first: a prompt_logprobs job must still compute all of it.
    submit(s, job_of(r)).get();
    auto job = job_of(r);
    job.request.prompt_logprobs = 3;
    std::vector<engine::generated_token> got;
    bool before_first_token = false;
    job.on_prompt = [&](std::vector<engine::generated_token> lp) { got = std::move(lp); };
    job.on_token = [&](const engine::generated_token&) {
        before_first_token = before_first_token || !got.empty();
        return true;
    };
    const auto res = submit(s, std::move(job)).get();
    EXPECT_TRUE(before_first_token);
    EXPECT_EQ(res.cached_tokens, 0u);
    ASSERT_EQ(got.size(), r.prompt.size() - 1);
    for (const std::size_t pos : {1u, 31u, 32u, 33u, 74u}) {
        const auto& e = got[pos - 1];
        EXPECT_EQ(e.id, r.prompt[pos]);
        ASSERT_EQ(e.top.size(), 3u);
        EXPECT_LE(e.logprob, e.top.front().logprob + 1e-6f);
        engine::generation_request head = r;
        head.prompt.resize(pos);
        head.max_tokens = 1;
        head.top_logprobs = 3;
        const auto alone = submit(s, job_of(head)).get();
        ASSERT_EQ(alone.top_logprobs.size(), 1u);
        for (std::size_t k = 0; k < 3; ++k) {
            EXPECT_EQ(alone.top_logprobs[0][k].id, e.top[k].id) << "position " << pos;
            EXPECT_NEAR(alone.top_logprobs[0][k].logprob, e.top[k].logprob, 1e-4f) << "position " << pos;
        }
    }
}

}  // namespace

// --- One bad request fails alone (issue 17, item 5) ---------------------------------------

namespace faults {

struct outcome {
    engine::generation_result result;
    std::string error;
};

std::future<outcome> submit_any(engine::scheduler& s, engine::generation_job job) {
    auto done = std::make_shared<std::promise<outcome>>();
    auto fut = done->get_future();
    job.on_done = [done](const engine::generation_result& r, const std::string& err) { done->set_value({r, err}); };
    EXPECT_EQ(s.submit(std::move(job)), engine::scheduler::admission::accepted);
    return fut;
}

}  // namespace faults

TEST(scheduler, a_throwing_callback_fails_only_its_own_job) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/stories260K.gguf");
    const loaded_model lm(path);
    const auto requests = mixed_requests(lm.m->n_vocab());
    std::vector<engine::generation_result> alone;
    {
        engine::scheduler one(*lm.m, lm.tok.get_vocab(), config(1, 64));
        for (const auto& r : requests) alone.push_back(submit(one, job_of(r)).get());
    }
    engine::scheduler s(*lm.m, lm.tok.get_vocab(), config(4, 16));
    // Job 0 throws from on_token after three tokens; job 2 throws from on_done (after it is
    // reported finished); the others run beside them.
    auto bad = job_of(requests[0]);
    auto seen = std::make_shared<int>(0);
    bad.on_token = [seen](const engine::generated_token&) -> bool {
        if (++*seen == 3) throw std::runtime_error("client callback failed");
        return true;
    };
    auto failed = faults::submit_any(s, std::move(bad));
    auto loud = job_of(requests[2]);
    auto loud_done = std::make_shared<std::promise<void>>();
    loud.on_done = [loud_done](const engine::generation_result&, const std::string&) {
        loud_done->set_value();
        throw std::runtime_error("on_done failed");
    };
    ASSERT_EQ(s.submit(std::move(loud)), engine::scheduler::admission::accepted);
    std::vector<std::future<engine::generation_result>> others;
    for (const std::size_t i : {1u, 3u, 4u, 5u}) others.push_back(submit(s, job_of(requests[i])));
    const auto f = failed.get();
    EXPECT_EQ(f.error, "client callback failed");
    loud_done->get_future().get();
    std::size_t k = 0;
    for (const std::size_t i : {1u, 3u, 4u, 5u}) EXPECT_EQ(others[k++].get().tokens, alone[i].tokens) << "request " << i;
    // And the scheduler still serves.
    EXPECT_EQ(submit(s, job_of(requests[6])).get().tokens, alone[6].tokens);
}

TEST(scheduler, refuses_a_prompt_id_outside_the_vocabulary_while_others_run) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/stories260K.gguf");
    const loaded_model lm(path);
    const auto requests = mixed_requests(lm.m->n_vocab());
    engine::scheduler s(*lm.m, lm.tok.get_vocab(), config(2, 16));
    auto running = submit(s, job_of(requests[3]));
    for (const engine::token_id bad : {static_cast<engine::token_id>(lm.m->n_vocab()), engine::token_id{-1}}) {
        auto job = job_of(requests[1]);
        job.request.prompt[1] = bad;
        bool called = false;
        job.on_done = [&called](const engine::generation_result&, const std::string&) { called = true; };
        EXPECT_EQ(s.submit(std::move(job)), engine::scheduler::admission::invalid_token);
        EXPECT_FALSE(called);
    }
    EXPECT_EQ(running.get().tokens.size(), 20u);
    EXPECT_EQ(s.current_load().queued, 0u);
}

TEST(scheduler, refuses_a_tokenizer_that_does_not_match_the_model) {
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/stories260K.gguf");
    SLUICE_SHARED_PATH_OR_SKIP(other, "models/qwen3-Q4_0.gguf");
    const loaded_model lm(path), lo(other);
    EXPECT_THROW(engine::scheduler(*lm.m, lo.tok.get_vocab(), config(1)), sluice::error);
}
