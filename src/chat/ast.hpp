// The syntax tree of a parsed template (chat-internal). Nodes are immutable after
// parsing and shared by every render of the template.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sluice/chat/value.hpp"

namespace sluice::chat::ast {

struct expr;
using expr_ptr = std::shared_ptr<const expr>;

struct expr {
    enum class kind {
        literal,    // lit
        name,       // name
        list,       // kids
        tuple,      // kids
        dict,       // kids: key, value, key, value...
        attr,       // kids[0] . name
        item,       // kids[0] [ kids[1] ]
        slice,      // kids[0] [ kids[1] : kids[2] : kids[3] ]  (null children for omitted parts)
        call,       // kids[0] ( kids[1..] , names for the trailing named ones )
        filter,     // kids[0] | name ( kids[1..] )
        test,       // kids[0] is [not] name ( kids[1..] )
        neg, pos, not_,
        binary,     // kids[0] op kids[1]: + - * / // % ** ~
        compare,    // kids[0] (ops[i] kids[i+1])*: == != < > <= >= in notin
        and_, or_,
        cond,       // kids[1] if kids[0] else kids[2] (kids[2] may be null)
    };
    kind k = kind::literal;
    int line = 0;
    value lit;
    std::string name;                  // identifier, attribute, filter/test name, operator
    std::vector<std::string> ops;      // compare operators
    std::vector<expr_ptr> kids;
    std::vector<std::string> arg_names;  // call/filter/test: names of the trailing named arguments
    bool negated = false;              // test: `is not`
};

struct node;
using node_ptr = std::shared_ptr<const node>;
using body = std::vector<node_ptr>;

struct node {
    enum class kind { text, output, if_, for_, set, set_block, macro, call_block, filter_block, break_, continue_ };
    kind k = kind::text;
    int line = 0;
    std::string text;                       // text
    expr_ptr e;                             // output, set value, for iterable, call_block call
    std::vector<expr_ptr> conds;            // if: conditions (one per branch)
    std::vector<body> branches;             // if: bodies (one more than conds when there is an else)
    std::vector<std::string> targets;       // for/set: names (several for unpacking); set ns.attr: {"ns", "attr"}
    bool attr_target = false;               // set ns.attr = ...
    expr_ptr filter_cond;                   // for ... if cond
    body main, else_;                       // for body / else; macro, set_block, call/filter block body
    std::string name;                       // macro name; filter block filter name
    std::vector<std::string> params;        // macro / caller parameters
    std::vector<expr_ptr> defaults;         // macro parameter defaults (null when none)
    std::vector<expr_ptr> args;             // filter block arguments
    std::vector<std::string> arg_names;
};

}  // namespace sluice::chat::ast
