#include "sluice/api/stop_matcher.hpp"

#include <algorithm>

#include "sluice/util/utf8.hpp"

namespace sluice::api {

stop_matcher::stop_matcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
    stops_.erase(std::remove(stops_.begin(), stops_.end(), std::string()), stops_.end());
}

std::string stop_matcher::push(const std::string& text) {
    if (stopped_) return {};
    held_ += text;
    // The earliest complete stop string ends the output.
    std::size_t first = std::string::npos;
    for (const auto& s : stops_) {
        const std::size_t at = held_.find(s);
        if (at < first || (at == first && at != std::string::npos && s.size() > matched_.size())) {
            first = at;
            matched_ = s;
        }
    }
    if (first != std::string::npos) {
        stopped_ = true;
        std::string out = held_.substr(0, first);
        held_.clear();
        return out;
    }
    // Hold back the longest suffix that is a proper prefix of some stop string.
    std::size_t keep = 0;
    for (const auto& s : stops_) {
        for (std::size_t len = std::min(s.size() - 1, held_.size()); len > keep; --len) {
            if (held_.compare(held_.size() - len, len, s, 0, len) == 0) {
                keep = len;
                break;
            }
        }
    }
    // Never split a UTF-8 character between what is sent and what is held.
    std::size_t cut = held_.size() - keep;
    cut = utf8::complete_prefix_length(std::string_view(held_).substr(0, cut));
    std::string out = held_.substr(0, cut);
    held_.erase(0, cut);
    return out;
}

std::string stop_matcher::flush() {
    if (stopped_) return {};
    std::string out = std::move(held_);
    held_.clear();
    return out;
}

}  // namespace sluice::api
