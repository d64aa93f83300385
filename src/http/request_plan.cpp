// Turning a decoded request into a generation plan: the part of every protocol adapter
// that is not about its JSON. See request_plan.hpp.
#include "request_plan.hpp"

#include <boost/json.hpp>
#include <random>

#include "chat_prompt.hpp"
#include "sluice/engine/token_constraint.hpp"
#include "sluice/util/log.hpp"

namespace sluice::http::detail {
namespace {

namespace json = boost::json;

[[noreturn]] void context_exceeded(std::size_t n_ctx, const std::string& what, const char* field) {
    throw api::invalid_request("This model's maximum context length is " + std::to_string(n_ctx) + " tokens. However, " + what + ".", field,
                               "context_length_exceeded");
}

// A text of this many bytes has at least bytes / max_token_length tokens: a cheap bound
// that refuses what can never fit before any tokenizing.
void check_text_size(const engine::tokenizer& tok, std::size_t bytes, std::size_t n_ctx, const char* field) {
    const std::size_t longest = std::max<std::size_t>(1, tok.get_vocab().max_token_length());
    if (bytes / longest > n_ctx) {
        context_exceeded(n_ctx, "the " + std::string(field) + " hold " + std::to_string(bytes) + " bytes, more than " +
                                    std::to_string(n_ctx) + " tokens can encode",
                         field);
    }
}

// `rendered`: the chat prompt's text (chat requests).
std::vector<engine::token_id> prompt_tokens(server_state& st, const api::completion_request& r, std::string& rendered) {
    const auto& tok = *st.model.tokenizer;
    const std::size_t n_ctx = st.model.generator->n_ctx();
    if (r.chat) {
        const json::object vars = chat_variables(r, st.model.format);
        chat::render_options opt;
        // Output that could never fit the context stops the rendering early.
        opt.max_output = std::min(opt.max_output, n_ctx * std::max<std::size_t>(1, tok.get_vocab().max_token_length()) + 4096);
        guarded_prompt text;
        try {
            text = render_guarded(*st.model.chat, vars, tok, opt);
        } catch (const chat::template_output_too_large&) {
            context_exceeded(n_ctx, "the rendered messages are longer than " + std::to_string(opt.max_output) + " bytes", "messages");
        } catch (const chat::template_error& e) {
            throw api::invalid_request(std::string("The model's chat template rejected these messages: ") + e.what(), "messages");
        }
        check_text_size(tok, text.text.size(), n_ctx, "messages");
        rendered = text.text;
        // Control tokens only from the template's own text (control_text_guard.hpp).
        return tok.tokenize(text.text, true, text.plain);
    }
    if (!r.prompt_ids.empty()) {
        for (std::size_t i = 0; i < r.prompt_ids.size(); ++i) {
            if (!tok.get_vocab().contains(r.prompt_ids[i])) {
                throw api::invalid_request("'prompt[" + std::to_string(i) + "]' is not a token id of this model", "prompt");
            }
        }
        return r.prompt_ids;
    }
    check_text_size(tok, r.prompt.size(), n_ctx, "prompt");
    return tok.tokenize(r.prompt, true, true);
}


}  // namespace

void report_ignored(exchange& ex, const std::vector<std::string>& fields) {
    if (fields.empty()) return;
    for (const auto& f : fields) {
        if (!ex.ignored_fields.empty()) ex.ignored_fields += ", ";
        ex.ignored_fields += f;
    }
    log::info("ignored unknown request fields: " + ex.ignored_fields);
}

std::size_t count_prompt_tokens(server_state& st, const api::completion_request& r) {
    std::string rendered;
    return prompt_tokens(st, r, rendered).size();
}

generation_plan plan_generation(server_state& st, api::completion_request& r) {
    const bool chat = r.chat;
    generation_plan plan;
    const auto& tok = *st.model.tokenizer;
    plan.prompt_field = chat ? "messages" : "prompt";
    std::string rendered;
    plan.request.prompt = prompt_tokens(st, r, rendered);
    const auto& prompt = plan.request.prompt;
    // A sequence holds at most the context, and at most what the KV memory can hold.
    const std::size_t n_ctx = st.model.generator->max_sequence();
    if (prompt.empty()) throw api::invalid_request("The prompt is empty.", plan.prompt_field);
    // The server's --n-predict caps what any request generates, so it caps the check too.
    if (r.max_tokens && st.config.n_predict > 0) r.max_tokens = std::min(*r.max_tokens, st.config.n_predict);
    if (prompt.size() + static_cast<std::size_t>(r.max_tokens.value_or(1)) > n_ctx) {
        context_exceeded(n_ctx, "you requested " + std::to_string(prompt.size() + static_cast<std::size_t>(r.max_tokens.value_or(1))) +
                                    " tokens (" + std::to_string(prompt.size()) + " in the " + plan.prompt_field + ", " +
                                    std::to_string(r.max_tokens.value_or(1)) + " in the completion)",
                         plan.prompt_field.c_str());
    }
    for (const auto& [id, bias] : r.sampling.logit_bias) {
        if (!tok.get_vocab().contains(id)) throw api::invalid_request("'logit_bias' names token " + std::to_string(id) + ", which this model does not have", "logit_bias");
    }
    for (const auto& [id, bias] : st.model.logit_bias) r.sampling.logit_bias.try_emplace(id, bias);
    if (!r.seeded) r.sampling.seed = std::random_device{}() * 0x9E3779B97F4A7C15ull ^ std::random_device{}();
    plan.request.max_tokens = static_cast<int>(r.max_tokens ? static_cast<std::size_t>(*r.max_tokens) : n_ctx - prompt.size());
    if (st.config.n_predict > 0) plan.request.max_tokens = std::min(plan.request.max_tokens, st.config.n_predict);
    plan.request.sampling = r.sampling;
    plan.request.ignore_eos = r.ignore_eos;
    if (chat) {
        chat_output out = plan_chat_output(r, st.model.format, rendered, tok.get_vocab());
        if (!out.gbnf.empty()) {
            if (r.constraint.type != api::constraint_spec::kind::none) {
                throw api::invalid_request("'" + r.constraint.field + "' cannot be combined with tool calls that tool_choice enforces; "
                                           "use tool_choice \"none\" or drop the output format",
                                           r.constraint.field);
            }
            api::constraint_spec spec;
            spec.type = api::constraint_spec::kind::gbnf;
            spec.gbnf = std::move(out.gbnf);
            spec.field = "tools";
            plan.request.grammar = st.grammars.get(spec, st.model.generator->grammar_vocab());
            plan.request.trigger = std::move(out.trigger);
        }
        plan.make_parser = std::move(out.make_parser);
        plan.shown_controls = std::move(out.shown_controls);
    }
    if (!plan.request.grammar) plan.request.grammar = st.grammars.get(r.constraint, st.model.generator->grammar_vocab());
    plan.request.logprobs = r.top_logprobs >= 0;
    if (r.echo && r.top_logprobs >= 0) plan.request.prompt_logprobs = static_cast<std::size_t>(r.top_logprobs);
    const auto& sched = st.model.generator->config();
    if (static_cast<std::size_t>(r.n) > sched.parallel + sched.queue_size) {
        throw api::invalid_request("'n' is " + std::to_string(r.n) + ", more choices than this server runs and queues at once (" +
                                       std::to_string(sched.parallel + sched.queue_size) + ")",
                                   "n");
    }
    plan.n = static_cast<std::size_t>(r.n);
    plan.request.top_logprobs = static_cast<std::size_t>(std::max(0, r.top_logprobs));
    plan.stop = r.stop;
    return plan;
}

}  // namespace sluice::http::detail
