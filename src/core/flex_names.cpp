#include "core/flex_names.hpp"

#include <algorithm>
#include <array>

namespace attend::core {
namespace {

bool starts_identifier(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool continues_identifier(char c) {
  return starts_identifier(c) || (c >= '0' && c <= '9');
}

constexpr std::array<std::string_view, 48> kTaken = {
    "score",  "b",        "h",         "q_idx",    "kv_idx",   "auto",   "bool",   "break",
    "case",   "char",     "const",     "continue", "default",  "do",     "double", "else",
    "enum",   "extern",   "false",     "float",    "for",      "goto",   "if",     "inline",
    "int",    "long",     "namespace", "new",      "operator", "return", "short",  "signed",
    "sizeof", "static",   "struct",    "switch",   "template", "this",   "true",   "typedef",
    "union",  "unsigned", "using",     "void",     "volatile", "while",  "class",  "delete"};

}  // namespace

bool is_flex_identifier(std::string_view name) noexcept {
  if (name.empty() || !starts_identifier(name[0]) || name[0] == '_') return false;
  if (!std::all_of(name.begin(), name.end(), continues_identifier)) return false;
  return std::find(kTaken.begin(), kTaken.end(), name) == kTaken.end();
}

bool mentions(std::string_view s, std::string_view identifier) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '/') {  // line comment
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {  // block comment
      const std::size_t end = s.find("*/", i + 2);
      i = end == std::string_view::npos ? s.size() : end + 2;
    } else if (c == '"' || c == '\'') {  // literal
      ++i;
      while (i < s.size() && s[i] != c) i += s[i] == '\\' ? 2 : 1;
      ++i;
    } else if (starts_identifier(c)) {
      const std::size_t start = i;
      while (i < s.size() && continues_identifier(s[i])) ++i;
      if (s.substr(start, i - start) == identifier) return true;
    } else if (c >= '0' && c <= '9') {  // numbers, with suffixes such as 1.5f or 0x1b
      while (i < s.size() && (continues_identifier(s[i]) || s[i] == '.')) ++i;
    } else {
      ++i;
    }
  }
  return false;
}

}  // namespace attend::core
