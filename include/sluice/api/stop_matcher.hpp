// Stop strings matched on decoded text as it streams. Text that could be the start of
// a stop string is held back until resolved, so a stop string never reaches the client
// (in either stream or non-stream mode).
#pragma once

#include <string>
#include <vector>

namespace sluice::api {

class stop_matcher {
public:
    explicit stop_matcher(std::vector<std::string> stops);

    // Feeds newly decoded text; returns the text that is now safe to send.
    std::string push(const std::string& text);
    // True once a stop string was found (everything from it on is dropped).
    bool stopped() const noexcept { return stopped_; }
    // The stop string that ended the output ("" before that).
    const std::string& matched() const noexcept { return matched_; }
    // At the end of generation: the held-back text (no stop string can complete any more).
    std::string flush();

private:
    std::vector<std::string> stops_;
    std::string held_;
    std::string matched_;
    bool stopped_ = false;
};

}  // namespace sluice::api
