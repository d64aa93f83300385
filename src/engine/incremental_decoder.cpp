#include "sluice/engine/incremental_decoder.hpp"

#include "sluice/util/utf8.hpp"

namespace sluice::engine {

std::string incremental_decoder::push(token_id id) {
    const bool shown = special_ || std::find(shown_.begin(), shown_.end(), id) != shown_.end();
    std::string p = shown ? tok_.piece(id) : tok_.token_to_piece(id, false);
    if (first_ && strip_ && !p.empty() && p.front() == ' ') p.erase(0, 1);
    first_ = false;
    held_ += p;
    const std::size_t complete = utf8::complete_prefix_length(held_);
    std::string out = utf8::sanitize(std::string_view(held_).substr(0, complete));
    held_.erase(0, complete);
    return out;
}

std::string incremental_decoder::flush() {
    std::string out = utf8::sanitize(held_);
    held_.clear();
    first_ = true;
    return out;
}

}  // namespace sluice::engine
