#include "sluice/chat/jinja.hpp"

#include <ctime>

#include "interpreter.hpp"
#include "parser.hpp"

namespace sluice::chat {

struct jinja_template::impl {
    ast::body body;
};

jinja_template jinja_template::parse(std::string_view source) {
    jinja_template t;
    t.impl_ = std::make_shared<const impl>(impl{detail::parse_template(source)});
    return t;
}

std::string jinja_template::render(const value& context, const render_options& options) const {
    std::tm now{};
    if (options.fixed_time) {
        now = *options.fixed_time;
    } else {
        const std::time_t t = std::time(nullptr);
        localtime_r(&t, &now);
    }
    detail::renderer r(options, now);
    return r.render(impl_->body, context);
}

}  // namespace sluice::chat
