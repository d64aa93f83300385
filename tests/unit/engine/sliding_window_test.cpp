// Sliding-window layers keeping only their window (kv_cache's sliding pool and ring,
// src/engine/sliding_blocks.hpp), on tiny synthetic gemma3 and gemma4 models with windows
// of 8 and 4 positions and blocks of 4: over generations crossing many windows the outputs
// are bit for bit those of the same model keeping every position, in the single-sequence
// view and in the scheduler with several sequences batched; blocks behind the window go
// back to the pool; a cached prefix is resumed exactly after the window has moved, or
// computed again when its window is no longer cached; and every block comes back at the end.
#include <gtest/gtest.h>

#include <cstdio>
#include <future>
#include <random>

#include "engine/sliding_blocks.hpp"
#include "sluice/engine/generator.hpp"
#include "sluice/engine/scheduler.hpp"
#include "sluice/engine/transformer.hpp"
#include "sluice/engine/vocab.hpp"
#include "support/synthetic_model.hpp"

namespace {

using namespace sluice;
using kernels::ggml_type;

constexpr std::uint32_t k_vocab = 300;

// A SentencePiece vocabulary of n tokens (control tokens, byte fallback, then plain pieces),
// to match the synthetic models' n_vocab (the scheduler checks the two agree).
std::vector<std::byte> vocab_of(std::uint32_t n) {
    std::vector<std::string> toks{"<unk>", "<s>", "</s>"};
    std::vector<float> scores{0, 0, 0};
    std::vector<std::int32_t> types{2, 3, 3};
    for (int b = 0; b < 256; ++b) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "<0x%02X>", b);
        toks.emplace_back(hex);
        scores.push_back(0);
        types.push_back(6);
    }
    while (toks.size() < n) {
        toks.push_back("p" + std::to_string(toks.size()));
        scores.push_back(-1);
        types.push_back(1);
    }
    model::gguf_writer w;
    w.add_string("general.architecture", "llama");
    w.add_string("tokenizer.ggml.model", "llama");
    w.add_strings("tokenizer.ggml.tokens", toks);
    w.add_f32s("tokenizer.ggml.scores", scores);
    w.add_i32s("tokenizer.ggml.token_type", types);
    w.add_u32("tokenizer.ggml.bos_token_id", 1);
    w.add_u32("tokenizer.ggml.eos_token_id", 2);
    return w.bytes();
}

struct tiny_model {
    std::vector<std::byte> bytes, vocab_bytes = vocab_of(k_vocab);
    model::gguf_file file, vocab_file;
    std::unique_ptr<engine::llm_model> m;
    engine::vocab voc;
    explicit tiny_model(std::vector<std::byte> b)
        : bytes(std::move(b)), file(model::gguf_file::parse(bytes)), vocab_file(model::gguf_file::parse(vocab_bytes)),
          m(engine::llm_model::load(file)), voc(engine::vocab::from_gguf(vocab_file)) {}
};

// gemma3, 4 layers: 0, 1 and 3 sliding (window 8), 2 global.
tiny_model gemma3() { return tiny_model(test::synthetic_gemma3({64, 4, 4, 2, 96, k_vocab}, ggml_type::q8_0, 8, 3)); }
// gemma4, 6 layers SSSFSF (window 4), the last two reading layers 2 and 3's KV.
tiny_model gemma4() { return tiny_model(test::synthetic_gemma4(ggml_type::q8_0, 4)); }

std::vector<engine::token_id> random_ids(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<engine::token_id> out(n);
    for (auto& t : out) t = static_cast<engine::token_id>(3 + rng() % (k_vocab - 3));
    return out;
}

// Greedy decoding through the single-sequence view (prompt in passes of `chunk`), every
// logit of every step.
std::vector<float> lone_logits(const engine::llm_model& m, engine::kv_cache& cache, std::size_t chunk, std::vector<engine::token_id> seq,
                               std::size_t n_gen) {
    thread_pool pool(2);
    engine::transformer tf(m, pool, chunk);
    std::vector<float> logits, all;
    tf.forward(seq, cache, logits);
    for (std::size_t i = 0; i < n_gen; ++i) {
        all.insert(all.end(), logits.begin(), logits.end());
        const auto next = static_cast<engine::token_id>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        const engine::token_id one[1] = {next};
        tf.forward(one, cache, logits);
    }
    return all;
}

void expect_ring_matches_keeping_everything(const engine::llm_model& m, engine::kv_precision precision) {
    const auto prompt = random_ids(30, 7);
    engine::kv_cache ring(m, 256, precision, 4);  // a ring of window + 3 positions; passes of 4
    engine::kv_cache all(m, 256, precision, 0);
    ASSERT_TRUE(ring.ring());
    ASSERT_FALSE(all.ring());
    EXPECT_EQ(ring.max_chunk(), 4u);
    EXPECT_LT(ring.bytes(), all.bytes());
    const auto got = lone_logits(m, ring, 4, prompt, 120);
    const auto want = lone_logits(m, all, 4, prompt, 120);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << "step " << i / m.n_vocab() << " logit " << i % m.n_vocab();
}

TEST(sliding_window, the_single_view_ring_computes_what_keeping_every_position_does) {
    const auto g3 = gemma3();
    expect_ring_matches_keeping_everything(*g3.m, engine::kv_precision::f16);
    expect_ring_matches_keeping_everything(*g3.m, engine::kv_precision::f32);
    const auto g4 = gemma4();  // shared-KV layers; llama.cpp's sequential f16 attention
    expect_ring_matches_keeping_everything(*g4.m, engine::kv_precision::f16);
}

TEST(sliding_window, a_ring_pass_may_not_outgrow_the_window_slack) {
    const auto g3 = gemma3();
    thread_pool pool(1);
    engine::transformer tf(*g3.m, pool);
    engine::kv_cache ring(*g3.m, 256, engine::kv_precision::f16, 4);
    const auto ids = random_ids(5, 1);
    std::vector<float> logits(g3.m->n_vocab());
    const engine::batch_sequence five{ids, 0, ring.single_table(), 1, 0, ring.single_swa_table()};
    EXPECT_THROW(tf.forward_batch({&five, 1}, ring, logits.data()), error);
    tf.forward(ids, ring, logits);  // forward() splits it
    EXPECT_EQ(ring.size(), 5u);
}

TEST(sliding_blocks, a_block_dies_when_no_later_query_sees_it) {
    // window 8, blocks of 4: a query at p sees p - 7 .. p.
    engine::sliding_blocks sb(16, 4, 4, 8, 4);
    EXPECT_EQ(sb.first_needed(10), 0u);  // the query at 10 sees 3..10
    EXPECT_EQ(sb.first_needed(11), 1u);  // the query at 11 sees 4..11
    EXPECT_EQ(sb.first_needed(15), 2u);
    EXPECT_EQ(sb.cap(1000), (8u + 4 - 2) / 4 + 2);
    EXPECT_EQ(sb.cap(6), 2u);
    engine::sliding_blocks::table t;
    ASSERT_TRUE(sb.fits(1000));
    sb.commit(t, 1000);
    std::size_t n_done = 0;
    for (; n_done < 40; n_done += 4) {
        sb.ensure(t, n_done + 4);
        sb.advance(t, n_done + 4, [](std::size_t j) { return 100 + j; });
        EXPECT_LE(sb.used(), sb.cap(1000));
    }
    EXPECT_EQ(t.first, sb.first_needed(40));
    EXPECT_EQ(sb.used(), t.blocks.size() - t.first);
    EXPECT_EQ(sb.cached(), 4u);  // the dead blocks, published, the oldest evicted
    // A prefix ending at 40 (10 blocks) needs blocks 8 and 9 (positions 33..39): live, shared.
    std::vector<std::uint64_t> names(10);
    for (std::size_t j = 0; j < 10; ++j) names[j] = 100 + j;
    EXPECT_EQ(sb.resumable(names), 10u);
    names[9] = 999;  // another chain's last block: the head of 9 blocks needs 7 and 8
    EXPECT_EQ(sb.resumable(names), 9u);
    sb.release(t);
    EXPECT_EQ(sb.used(), 0u);
    // Admission: four sequences' caps fill the 16 blocks.
    engine::sliding_blocks::table ts[4];
    for (auto& x : ts) sb.commit(x, 1000);
    EXPECT_FALSE(sb.fits(1));
    sb.release(ts[0]);
    EXPECT_TRUE(sb.fits(1000));
}

// --- the scheduler ---

engine::scheduler_config config(bool window, std::size_t cache_bytes = 8u << 20) {
    engine::scheduler_config c;
    c.parallel = 3;
    c.queue_size = 16;
    c.n_ctx = 512;
    c.block_size = 4;
    c.threads = 2;
    c.prefill_chunk = 16;
    c.cache_bytes = cache_bytes;
    c.sliding_kv_window = window;
    return c;
}

std::future<engine::generation_result> submit(engine::scheduler& s, const engine::generation_request& r,
                                              std::function<bool(const engine::generated_token&)> on_token = {}) {
    auto done = std::make_shared<std::promise<engine::generation_result>>();
    auto fut = done->get_future();
    engine::generation_job job;
    job.request = r;
    job.on_token = std::move(on_token);
    job.on_done = [done](const engine::generation_result& res, const std::string& err) {
        if (!err.empty()) ADD_FAILURE() << "job failed: " << err;
        done->set_value(res);
    };
    EXPECT_EQ(s.submit(std::move(job)), engine::scheduler::admission::accepted);
    return fut;
}

engine::generation_request request(std::vector<engine::token_id> prompt, int max_tokens, float temperature, std::uint64_t seed) {
    engine::generation_request r;
    r.prompt = std::move(prompt);
    r.max_tokens = max_tokens;
    r.ignore_eos = true;
    r.logprobs = true;
    r.top_logprobs = 2;
    r.sampling.temperature = temperature;
    r.sampling.seed = seed;
    return r;
}

// Five requests at once (prompts of 5 to 53 tokens, 80 tokens each, greedy and sampled).
std::vector<engine::generation_request> five_requests() {
    std::vector<engine::generation_request> out;
    for (unsigned i = 0; i < 5; ++i) out.push_back(request(random_ids(5 + 12 * i, 20 + i), 80, i % 2 ? 0.8f : 0.0f, 50 + i));
    return out;
}

std::vector<engine::generation_result> run_all(engine::scheduler& s, const std::vector<engine::generation_request>& rs) {
    std::vector<std::future<engine::generation_result>> futs;
    for (const auto& r : rs) futs.push_back(submit(s, r));
    std::vector<engine::generation_result> out;
    for (auto& f : futs) out.push_back(f.get());
    return out;
}

void expect_same(const engine::generation_result& a, const engine::generation_result& b, const std::string& what) {
    EXPECT_EQ(a.tokens, b.tokens) << what;
    ASSERT_EQ(a.top_logprobs.size(), b.top_logprobs.size()) << what;
    for (std::size_t i = 0; i < a.top_logprobs.size(); ++i) {
        ASSERT_EQ(a.top_logprobs[i].size(), b.top_logprobs[i].size()) << what;
        for (std::size_t j = 0; j < a.top_logprobs[i].size(); ++j) {
            EXPECT_EQ(a.top_logprobs[i][j].id, b.top_logprobs[i][j].id) << what << " position " << i;
            EXPECT_EQ(a.top_logprobs[i][j].logprob, b.top_logprobs[i][j].logprob) << what << " position " << i;  // bit for bit
        }
    }
}

void expect_every_block_back(const engine::scheduler& s) {
    const auto l = s.current_load();
    EXPECT_EQ(l.kv_used, 0u);
    EXPECT_EQ(l.swa_used, 0u);
}

// cache_bytes 0: no prefix cache, so a released block is the next one allocated (a block
// released while still in some query's window would be overwritten and show).
void expect_batched_window_matches_keeping_everything(const tiny_model& tm, std::size_t cache_bytes) {
    const auto rs = five_requests();
    engine::scheduler all(*tm.m, tm.voc, config(false, cache_bytes));
    const auto want = run_all(all, rs);
    EXPECT_EQ(all.current_load().swa_blocks, 0u);
    engine::scheduler win(*tm.m, tm.voc, config(true, cache_bytes));
    EXPECT_GT(win.current_load().swa_blocks, 0u);
    const auto got = run_all(win, rs);
    for (std::size_t i = 0; i < rs.size(); ++i) {
        ASSERT_EQ(got[i].tokens.size(), 80u);
        expect_same(got[i], want[i], "request " + std::to_string(i));
    }
    expect_every_block_back(win);
    expect_every_block_back(all);
}

TEST(sliding_window, batched_sequences_compute_what_keeping_every_position_does) {
    for (const std::size_t cache_bytes : {std::size_t{8} << 20, std::size_t{0}}) {
        expect_batched_window_matches_keeping_everything(gemma3(), cache_bytes);
        expect_batched_window_matches_keeping_everything(gemma4(), cache_bytes);
    }
}

// One long sequence: its main blocks grow with it, its sliding blocks stay those of the window.
TEST(sliding_window, blocks_behind_the_window_go_back_to_the_pool) {
    const auto tm = gemma3();
    engine::scheduler s(*tm.m, tm.voc, config(true));
    const std::size_t window_blocks = (8 - 1) / 4 + 2;  // what a query at n_done and its block can see
    std::size_t most_swa = 0, most_kv = 0, steps = 0;
    auto fut = submit(s, request(random_ids(40, 3), 150, 0.0f, 0), [&](const engine::generated_token&) {
        const auto l = s.current_load();  // the snapshot after the step before
        most_swa = std::max(most_swa, l.swa_used);
        most_kv = std::max(most_kv, l.kv_used);
        ++steps;
        return true;
    });
    EXPECT_EQ(fut.get().tokens.size(), 150u);
    EXPECT_GT(steps, 100u);
    EXPECT_LE(most_swa, window_blocks);
    EXPECT_GE(most_kv, 180u / 4);  // the full-attention layer keeps every position
    expect_every_block_back(s);
    const auto l = s.current_load();
    EXPECT_GT(l.swa_cached, 0u);  // published as they filled, cached when released
}

// A conversation's next turn resumes the whole previous turn (its window long gone past
// the start), a branch off the middle of a prompt resumes up to the branch from sliding
// blocks released mid-prompt, and both compute exactly what a cold run computes.
TEST(sliding_window, a_cached_prefix_resumes_exactly_after_the_window_moved) {
    const auto tm = gemma3();
    engine::scheduler win(*tm.m, tm.voc, config(true));
    const auto first = request(random_ids(40, 5), 30, 0.0f, 0);
    const auto a = run_all(win, {first})[0];
    auto next = first;
    next.prompt.insert(next.prompt.end(), a.tokens.begin(), a.tokens.end());
    const auto more = random_ids(5, 6);
    next.prompt.insert(next.prompt.end(), more.begin(), more.end());
    next.sampling.temperature = 0.7f;
    next.sampling.seed = 9;
    auto branch = request(std::vector<engine::token_id>(first.prompt.begin(), first.prompt.begin() + 24), 40, 0.0f, 0);
    const auto tail = random_ids(7, 8);
    branch.prompt.insert(branch.prompt.end(), tail.begin(), tail.end());

    const auto warm = run_all(win, {next, branch});
    EXPECT_EQ(warm[0].cached_tokens, 40 + 30 - 1u);  // every full block the first turn computed, then its last row lent
    EXPECT_EQ(warm[1].cached_tokens, 24u);
    engine::scheduler cold(*tm.m, tm.voc, config(false));
    const auto want = run_all(cold, {next, branch});
    EXPECT_EQ(want[0].cached_tokens, 0u);
    expect_same(warm[0], want[0], "next turn");
    expect_same(warm[1], want[1], "branch");
    expect_every_block_back(win);
}

// With room in the prefix cache for 6 blocks only, the main cache keeps the first turn's
// first blocks but the sliding cache not the window before their end: the prompt is
// computed again (keeping every position, the same main blocks would be resumed), and
// exactly.
TEST(sliding_window, a_prefix_whose_window_is_gone_is_computed_again) {
    const auto tm = gemma3();
    const std::size_t six = 6 * (engine::kv_cache::block_bytes(*tm.m, 4, engine::kv_precision::f16, engine::kv_layers::full) +
                                 engine::kv_cache::block_bytes(*tm.m, 4, engine::kv_precision::f16, engine::kv_layers::sliding));
    engine::scheduler win(*tm.m, tm.voc, config(true, six));
    engine::scheduler all(*tm.m, tm.voc, config(false, six));
    const auto first = request(random_ids(40, 5), 30, 0.0f, 0);
    auto again = request(std::vector<engine::token_id>(first.prompt.begin(), first.prompt.begin() + 24), 40, 0.0f, 0);
    const auto tail = random_ids(7, 8);
    again.prompt.insert(again.prompt.end(), tail.begin(), tail.end());
    run_all(win, {first});
    run_all(all, {first});
    EXPECT_EQ(win.current_load().swa_cached, 6u);
    const auto w = run_all(win, {again})[0];
    const auto a = run_all(all, {again})[0];
    EXPECT_EQ(w.cached_tokens, 0u);
    EXPECT_EQ(a.cached_tokens, 24u);
    expect_same(w, a, "recomputed");
    expect_every_block_back(win);
}

// The memory bound counts the sliding pool: a bound of two sequences' worth admits only
// what fits, and the longest request is what the pools can hold.
// Speculation on a sliding-window model: drafts are computed into sliding blocks and rolled
// back when rejected, while blocks behind the window are freed by accepted positions only.
// Outputs must be those of plain decoding that keeps every position.
TEST(sliding_window, speculating_sequences_compute_what_keeping_every_position_does) {
    for (const bool gemma4_model : {false, true}) {
        const tiny_model tm = gemma4_model ? gemma4() : gemma3();
        std::vector<engine::generation_request> rs;
        for (unsigned i = 0; i < 4; ++i) rs.push_back(request(random_ids(10 + 7 * i, 90 + i), 90, i % 2 ? 0.8f : 0.0f, 70 + i));
        engine::scheduler all(*tm.m, tm.voc, config(false));
        const auto want = run_all(all, rs);
        auto cfg = config(true, 0);
        cfg.speculation = {1, 8};  // a one-token lookup: these random models rarely repeat two
        engine::scheduler spec(*tm.m, tm.voc, cfg);
        const auto got = run_all(spec, rs);
        for (std::size_t i = 0; i < rs.size(); ++i) {
            ASSERT_EQ(got[i].tokens.size(), 90u);
            expect_same(got[i], want[i], std::string(gemma4_model ? "gemma4" : "gemma3") + " request " + std::to_string(i));
        }
        const auto stats = spec.current_load().speculation;
        EXPECT_GT(stats.drafted, 0u) << "no draft was verified";
        EXPECT_GT(stats.drafted, stats.accepted) << "no draft was rejected: the roll-back did not run";
        expect_every_block_back(spec);
    }
}

// The CLI's ring with speculation: rejected rows are rewritten in place, and the ring wraps.
TEST(sliding_window, speculation_over_the_single_view_ring_changes_no_token) {
    const tiny_model tm = gemma3();
    std::vector<engine::token_id> prompt;
    const auto motif = random_ids(4, 5);
    for (int k = 0; k < 8; ++k) prompt.insert(prompt.end(), motif.begin(), motif.end());
    auto r = request(prompt, 1100, 0.0f, 1);
    thread_pool pool(2);
    engine::generator plain(*tm.m, tm.voc, pool, 1200);
    engine::generator spec(*tm.m, tm.voc, pool, 1200, engine::kv_precision::f16, {2, 8});
    ASSERT_TRUE(spec.speculates());
    const auto want = plain.generate(r);
    const auto got = spec.generate(r);
    ASSERT_EQ(got.tokens.size(), 1100u);  // past the ring of window - 1 + 512 positions, twice
    expect_same(got, want, "ring");
    EXPECT_GT(spec.speculation().drafted, 0u);
}

TEST(sliding_window, the_memory_bound_counts_the_window_not_the_context) {
    const auto tm = gemma3();
    const std::size_t full = engine::kv_cache::block_bytes(*tm.m, 4, engine::kv_precision::f16, engine::kv_layers::full);
    const std::size_t sliding = engine::kv_cache::block_bytes(*tm.m, 4, engine::kv_precision::f16, engine::kv_layers::sliding);
    const std::size_t all = engine::kv_cache::block_bytes(*tm.m, 4, engine::kv_precision::f16);
    EXPECT_EQ(full + sliding, all);
    EXPECT_EQ(sliding, 3 * full);  // three sliding layers, one global
    auto cfg = config(true, 0);
    engine::scheduler unbounded(*tm.m, tm.voc, cfg);
    const std::size_t cap = engine::sliding_blocks::cap(512, 4, 8, 32);  // passes of 32 (the scheduler's sliding_pass)
    EXPECT_EQ(cap, 11u);
    EXPECT_EQ(unbounded.current_load().swa_blocks, 3 * cap);
    EXPECT_EQ(unbounded.current_load().kv_blocks, 3 * 128u);
    EXPECT_EQ(unbounded.max_sequence(), 512u);
    // A bound of half the unbounded pools: both shrink alike.
    cfg.kv_bytes = (3 * 128 * full + 3 * cap * sliding) / 2;
    engine::scheduler half(*tm.m, tm.voc, cfg);
    EXPECT_LE(half.current_load().kv_blocks * full + half.current_load().swa_blocks * sliding, cfg.kv_bytes);
    EXPECT_GE(half.current_load().kv_blocks, 3 * 128u / 2 - 1);
    // Sequences of a whole context each still run; keeping every position, the same bound
    // would hold far fewer positions.
    const auto r = request(random_ids(20, 4), 400, 0.0f, 0);
    const auto got = run_all(half, {r, r});
    EXPECT_EQ(got[0].tokens, got[1].tokens);
    EXPECT_EQ(got[0].tokens.size(), 400u);
    expect_every_block_back(half);
    cfg.sliding_kv_window = false;
    engine::scheduler keep(*tm.m, tm.voc, cfg);
    EXPECT_LT(keep.max_sequence(), 420u);
}

}  // namespace
