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

std::tm render_time(const render_options& options) {
    if (options.fixed_time) return *options.fixed_time;
    std::tm now{};
    const std::time_t t = std::time(nullptr);
    localtime_r(&t, &now);
    return now;
}

std::string jinja_template::render(const value& context, const render_options& options) const {
    detail::renderer r(options, render_time(options));
    return r.render(impl_->body, context);
}

}  // namespace sluice::chat
