// The optimised forward pass (batched prefill and single-token decode, AVX2 kernels,
// thread pool) against the naive reference forward pass: logits agree within 1e-3
// on every shared model (gemma4-Q4_0: 2e-3, see below).
//
// Both run with float activations and a float KV cache. With 8-bit activations a 1e-6 difference in
// summation order can flip one activation's rounding by a whole step (max/127), and a
// half-precision key's by one ulp (~1e-3 relative), so no
// two implementations agree to 1e-3 through them unless bit-identical; the quantised
// kernels are checked against their scalar references in kernels_test, and the real
// mode against llama.cpp in parity_test.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>

#include "sluice/engine/transformer.hpp"
#include "sluice/kernels/quantize.hpp"
#include "support/fixtures.hpp"
#include "support/reference_forward.hpp"

namespace {

namespace json = boost::json;
using namespace sluice;

class oracle : public ::testing::TestWithParam<std::string> {};

TEST_P(oracle, optimised_logits_match_the_naive_forward_pass) {
    SLUICE_SHARED_PATH_OR_SKIP(ref, "reference/" + GetParam() + ".json");
    const auto doc = json::parse(test::read_file(ref)).as_object();
    SLUICE_SHARED_PATH_OR_SKIP(path, "models/" + std::string(doc.at("model").as_string()));
    const auto file = model::gguf_file::open(path.string());
    const auto m = engine::llm_model::load(file);
    kernels::set_exact_activations(true);
    struct restore {
        ~restore() { kernels::set_exact_activations(false); }
    } restore_mode;
    // A prompt and its reference continuation: a few positions of prefill, then decode.
    const auto& c = doc.at("completions").as_array()[1].as_object();
    std::vector<engine::token_id> ids;
    for (const auto& v : c.at("prompt_tokens_with_special").as_array()) ids.push_back(static_cast<engine::token_id>(v.to_number<std::int64_t>()));
    const std::size_t n_prefill = ids.size();
    for (const auto& v : c.at("completion_tokens").as_array()) {
        if (ids.size() >= n_prefill + 6) break;
        ids.push_back(static_cast<engine::token_id>(v.to_number<std::int64_t>()));
    }

    // gemma4-Q4_0: 2e-3. Its per-layer embedding adds rmsnorm(proj @ g) with g small (rms
    // 0.007-0.05 at some positions), a gain of up to ~50 on the last-bit differences of two
    // float summation orders: on this prompt the two paths agree within 4e-5 at position 0,
    // 1-2.6e-4 at most positions, 7.3e-4 and 1.03e-3 at two of them (the same rounding noise
    // as elsewhere, amplified; in the real mode most of llama.cpp's per-layer tensors on
    // reference prompt 5 are matched within 1e-7 relative).
    const float tol = GetParam() == "families/gemma4-Q4_0" ? 2e-3f : 1e-3f;
    thread_pool pool(2);
    engine::transformer tf(*m, pool);
    engine::kv_cache cache(*m, 64, engine::kv_precision::f32);
    std::vector<float> batch_logits, step_logits;
    tf.forward(std::span<const engine::token_id>(ids).first(n_prefill), cache, batch_logits, true);
    test::reference_forward oracle_fwd(*m);
    const std::size_t nv = m->n_vocab();
    double worst = 0;
    for (std::size_t t = 0; t < ids.size(); ++t) {
        const auto expected = oracle_fwd.step(ids[t]);
        const float* got;
        if (t < n_prefill) {
            got = batch_logits.data() + t * nv;  // prefill: the batched path
        } else {
            const engine::token_id one[1] = {ids[t]};
            tf.forward(one, cache, step_logits);  // decode: the single-token path
            got = step_logits.data();
        }
        for (std::size_t i = 0; i < nv; ++i) {
            worst = std::max(worst, static_cast<double>(std::fabs(got[i] - expected[i])));
            if (std::fabs(got[i] - expected[i]) > tol) {
                ADD_FAILURE() << GetParam() << " position " << t << " token " << i << ": " << got[i] << " vs oracle " << expected[i];
                return;
            }
        }
    }
    std::printf("[ oracle   ] %s: %zu positions, worst |d logit| %.2e\n", GetParam().c_str(), ids.size(), worst);
}

INSTANTIATE_TEST_SUITE_P(shared, oracle, ::testing::ValuesIn(test::reference_stems()), test::param_name());

}  // namespace
