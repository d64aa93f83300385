#include <gtest/gtest.h>
TEST(placeholder_util, builds) {}
