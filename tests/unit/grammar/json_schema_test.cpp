// JSON Schema -> GBNF, keyword by keyword: accepted and rejected texts through the real GBNF
// parser and matcher, every refusal (keyword and pointer), hostile schemas.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sluice/grammar/grammar.hpp"
#include "sluice/grammar/json_schema.hpp"
#include "sluice/grammar/matcher.hpp"

namespace {
}  // namespace
