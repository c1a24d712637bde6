#include "api/selector.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>

#include "api/names.h"
#include "common/utf8.h"

namespace vdisk::api {
namespace {

using Json = nlohmann::json;

// --- Text helpers. Selectors arrive in URLs, so any byte can appear; messages stay UTF-8.

bool IsPrintable(uint32_t code_point) {
  if (code_point < 0x20 || code_point == 0x7F) return false;
  if (code_point >= 0x80 && code_point <= 0x9F) return false;  // C1 controls
  switch (code_point) {
    case 0xAD:
    case 0x2028:
    case 0x2029:
    case 0xFEFF:
    case 0xFFFE:
    case 0xFFFF:
      return false;
  }
  return true;
}

std::string Hex(uint32_t value, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, value >>= 4)
    out[static_cast<size_t>(i)] = kDigits[value & 15];
  return out;
}

// A string literal as Go's %q writes it, which is how upstream shows bad values.
std::string GoQuote(std::string_view text) {
  std::string out = "\"";
  for (size_t pos = 0; pos < text.size();) {
    const DecodedRune rune = DecodeUtf8(text, pos);
    if (!rune.valid) {
      out += "\\x" + Hex(static_cast<unsigned char>(text[pos]), 2);
    } else if (rune.code_point == '"' || rune.code_point == '\\') {
      out += '\\';
      out += static_cast<char>(rune.code_point);
    } else if (IsPrintable(rune.code_point)) {
      out.append(text.substr(pos, rune.length));
    } else {
      switch (rune.code_point) {
        case '\a':
          out += "\\a";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\v':
          out += "\\v";
          break;
        default:
          if (rune.code_point < 0x80) {
            out += "\\x" + Hex(rune.code_point, 2);
          } else if (rune.code_point < 0x10000) {
            out += "\\u" + Hex(rune.code_point, 4);
          } else {
            out += "\\U" + Hex(rune.code_point, 8);
          }
      }
    }
    pos += rune.length;
  }
  return out + "\"";
}

// A bad value as upstream's field errors print it: strings quoted, other values as JSON.
std::string ShowValue(const Json& value) {
  if (value.is_string()) return GoQuote(value.get_ref<const std::string&>());
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string InvalidError(const std::string& field, const std::string& shown_value,
                         const std::string& detail) {
  return field + ": Invalid value: " + shown_value + ": " + detail;
}

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

// Several errors print as "[a, b]" with duplicates dropped, one as itself, like Go's aggregate.
std::string Aggregate(const std::vector<std::string>& errors) {
  std::vector<std::string> distinct;
  for (const std::string& error : errors) {
    if (std::find(distinct.begin(), distinct.end(), error) == distinct.end()) {
      distinct.push_back(error);
    }
  }
  if (distinct.size() == 1) return distinct[0];
  return "[" + Join(distinct, ", ") + "]";
}

// A member of a JSON object; missing and null members read as `absent`, as Go's decoder leaves a
// field at its zero value for both.
Json Member(const Json& object, const char* name, Json absent) {
  auto it = object.find(name);
  return it == object.end() || it->is_null() ? absent : *it;
}

// Go's strconv.ParseInt(text, 10, 64).
std::optional<int64_t> ParseInt64(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  uint64_t magnitude = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), magnitude);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  const uint64_t limit = uint64_t{1} << 63;  // |INT64_MIN|
  if (magnitude > (negative ? limit : limit - 1)) return std::nullopt;
  if (negative) return magnitude == limit ? INT64_MIN : -static_cast<int64_t>(magnitude);
  return static_cast<int64_t>(magnitude);
}

// --- The label selector lexer, after k8s.io/apimachinery/pkg/labels.

enum class Token {
  kEnd,
  kClosePar,
  kComma,
  kNot,
  kDoubleEquals,
  kEquals,
  kGreaterThan,
  kIdentifier,
  kIn,
  kLessThan,
  kNotEquals,
  kNotIn,
  kOpenPar,
};

struct Lexeme {
  Token token;
  std::string_view text;
};

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsSpecialSymbol(char c) {
  return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

// Cuts text into lexemes one at a time, then kEnd forever; the parser needs one lexeme of
// lookahead, so hostile megabytes cost no memory. Upstream also ends the text at a NUL byte,
// which would hide the rest of a selector; here NUL is an ordinary character that fails
// validation.
class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Lexeme Next() {
    while (pos_ < text_.size() && IsWhitespace(text_[pos_])) ++pos_;
    if (pos_ == text_.size()) return {Token::kEnd, ""};
    const size_t start = pos_;
    if (IsSpecialSymbol(text_[pos_])) {
      // The longest operator wins: "!=" over "!", "==" over "=".
      const std::string_view two = text_.substr(pos_, 2);
      if (two == "!=" || two == "==") {
        pos_ += 2;
        return {two == "!=" ? Token::kNotEquals : Token::kDoubleEquals, two};
      }
      ++pos_;
      switch (text_[start]) {
        case '=':
          return {Token::kEquals, text_.substr(start, 1)};
        case '!':
          return {Token::kNot, text_.substr(start, 1)};
        case '(':
          return {Token::kOpenPar, text_.substr(start, 1)};
        case ')':
          return {Token::kClosePar, text_.substr(start, 1)};
        case '>':
          return {Token::kGreaterThan, text_.substr(start, 1)};
        case '<':
          return {Token::kLessThan, text_.substr(start, 1)};
        default:
          return {Token::kComma, text_.substr(start, 1)};
      }
    }
    while (pos_ < text_.size() && !IsSpecialSymbol(text_[pos_]) && !IsWhitespace(text_[pos_])) {
      ++pos_;
    }
    const std::string_view word = text_.substr(start, pos_ - start);
    if (word == "in") return {Token::kIn, word};
    if (word == "notin") return {Token::kNotIn, word};
    return {Token::kIdentifier, word};
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// Where a keyword may be a value ("x in (in, notin)"), it is an identifier.
enum class Context { kKeyAndOperator, kValues };

// The field path of a requirement parsed from text: upstream's nil path prints as "<nil>".
constexpr char kNilPath[] = "<nil>";

}  // namespace

// Recursive descent over the lexemes, following upstream's grammar and error texts:
//   selector    ::= requirement ( "," requirement )*
//   requirement ::= [!] KEY [ ( "in" | "notin" ) "(" VALUES ")" | ( = | == | != | > | < ) VALUE ]
class LabelSelectorParser {
 public:
  using Requirement = LabelSelector::Requirement;
  using Op = Requirement::Op;

  explicit LabelSelectorParser(std::string_view text) : lexer_(text), next_(lexer_.Next()) {}

  Result<LabelSelector> Parse() {
    LabelSelector selector;
    while (true) {
      const Lexeme next = Lookahead(Context::kValues);
      if (next.token == Token::kEnd) break;
      if (next.token != Token::kIdentifier && next.token != Token::kNot) {
        return Error("found '" + std::string(next.text) +
                     "', expected: !, identifier, or 'end of string'");
      }
      Result<Requirement> requirement = ParseRequirement();
      if (!requirement.ok()) {
        return Error("unable to parse requirement: " + requirement.status().message());
      }
      selector.requirements_.push_back(std::move(requirement).value());
      const Lexeme separator = Consume(Context::kValues);
      if (separator.token == Token::kEnd) break;
      if (separator.token != Token::kComma) {
        return Error("found '" + std::string(separator.text) +
                     "', expected: ',' or 'end of string'");
      }
      const Lexeme after_comma = Lookahead(Context::kValues);
      if (after_comma.token != Token::kIdentifier && after_comma.token != Token::kNot) {
        return Error("found '" + std::string(after_comma.text) +
                     "', expected: identifier after ','");
      }
    }
    // Sorted by key, as upstream does.
    std::stable_sort(selector.requirements_.begin(), selector.requirements_.end(),
                     [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
    return selector;
  }

 private:
  // Messages may quote raw input; keep them valid UTF-8 for the JSON Status.
  static Status Error(const std::string& message) { return InvalidArgument(ValidUtf8(message)); }

  Lexeme Lookahead(Context context) const { return Retoken(next_, context); }

  Lexeme Consume(Context context) {
    const Lexeme lexeme = Retoken(next_, context);
    next_ = lexer_.Next();
    return lexeme;
  }

  static Lexeme Retoken(Lexeme lexeme, Context context) {
    if (context == Context::kValues &&
        (lexeme.token == Token::kIn || lexeme.token == Token::kNotIn)) {
      lexeme.token = Token::kIdentifier;
    }
    return lexeme;
  }

  Result<Requirement> ParseRequirement() {
    Requirement requirement{Op::kEquals, "", {}, 0};
    bool negated = false;
    Lexeme key = Consume(Context::kValues);
    if (key.token == Token::kNot) {
      negated = true;
      key = Consume(Context::kValues);
    }
    if (key.token != Token::kIdentifier) {
      return InvalidArgument("found '" + std::string(key.text) + "', expected: identifier");
    }
    if (std::vector<std::string> errors = IsQualifiedName(key.text); !errors.empty()) {
      return InvalidArgument(InvalidError(kNilPath, GoQuote(key.text), Join(errors, "; ")));
    }
    requirement.key = std::string(key.text);
    const Token after_key = Lookahead(Context::kValues).token;
    if (negated || after_key == Token::kEnd || after_key == Token::kComma) {
      // "!key" takes no operator; whatever follows it is the caller's to reject.
      requirement.op = negated ? Op::kDoesNotExist : Op::kExists;
      return requirement;
    }

    const Lexeme op = Consume(Context::kKeyAndOperator);
    switch (op.token) {
      case Token::kIn:
        requirement.op = Op::kIn;
        break;
      case Token::kNotIn:
        requirement.op = Op::kNotIn;
        break;
      case Token::kEquals:
      case Token::kDoubleEquals:
        requirement.op = Op::kEquals;
        break;
      case Token::kNotEquals:
        requirement.op = Op::kNotEquals;
        break;
      case Token::kGreaterThan:
        requirement.op = Op::kGreaterThan;
        break;
      case Token::kLessThan:
        requirement.op = Op::kLessThan;
        break;
      default:
        return InvalidArgument("found '" + std::string(op.text) +
                               "', expected: in, notin, =, ==, !=, gt, lt");
    }
    std::set<std::string> values;
    Status status = requirement.op == Op::kIn || requirement.op == Op::kNotIn
                        ? ParseValueSet(values)
                        : ParseExactValue(values);
    if (!status.ok()) return status;
    requirement.values.assign(values.begin(), values.end());
    return Validated(std::move(requirement));
  }

  // "(a, b, c)"; empty entries are the empty string, "()" is just the empty string.
  Status ParseValueSet(std::set<std::string>& values) {
    const Lexeme open = Consume(Context::kValues);
    if (open.token != Token::kOpenPar) {
      return InvalidArgument("found '" + std::string(open.text) + "' expected: '('");
    }
    const Lexeme first = Lookahead(Context::kValues);
    if (first.token == Token::kClosePar) {
      Consume(Context::kValues);
      values.insert("");
      return Status::Ok();
    }
    if (first.token != Token::kIdentifier && first.token != Token::kComma) {
      return InvalidArgument("found '" + std::string(first.text) +
                             "', expected: ',', ')' or identifier");
    }
    while (true) {
      const Lexeme item = Consume(Context::kValues);
      if (item.token == Token::kIdentifier) {
        values.insert(std::string(item.text));
        const Lexeme next = Lookahead(Context::kValues);
        if (next.token == Token::kClosePar) break;
        if (next.token != Token::kComma) {
          return InvalidArgument("found '" + std::string(next.text) + "', expected: ',' or ')'");
        }
      } else if (item.token == Token::kComma) {
        // A comma with nothing before or after it stands for the empty string.
        if (values.empty()) values.insert("");
        const Token next = Lookahead(Context::kValues).token;
        if (next == Token::kComma) values.insert("");
        if (next == Token::kClosePar) {
          values.insert("");
          break;
        }
      } else {
        return InvalidArgument("found '" + std::string(item.text) +
                               "', expected: ',', or identifier");
      }
    }
    Consume(Context::kValues);  // the ")" just seen
    return Status::Ok();
  }

  Status ParseExactValue(std::set<std::string>& values) {
    const Token next = Lookahead(Context::kValues).token;
    if (next == Token::kEnd || next == Token::kComma) {
      values.insert("");
      return Status::Ok();
    }
    const Lexeme value = Consume(Context::kValues);
    if (value.token != Token::kIdentifier) {
      return InvalidArgument("found '" + std::string(value.text) + "', expected: identifier");
    }
    values.insert(std::string(value.text));
    return Status::Ok();
  }

  // Upstream's NewRequirement checks; field paths are relative to the requirement.
  static Result<Requirement> Validated(Requirement requirement) {
    std::vector<std::string> errors;
    if (requirement.op == Op::kGreaterThan || requirement.op == Op::kLessThan) {
      // Exactly one value, by the grammar.
      if (std::optional<int64_t> bound = ParseInt64(requirement.values[0])) {
        requirement.bound = *bound;
      } else {
        errors.push_back(InvalidError("values[0]", GoQuote(requirement.values[0]),
                                      "for 'Gt', 'Lt' operators, the value must be an integer"));
      }
    }
    for (size_t i = 0; i < requirement.values.size(); ++i) {
      const std::vector<std::string> value_errors = IsValidLabelValue(requirement.values[i]);
      if (value_errors.empty()) continue;
      errors.push_back(InvalidError("values[" + std::to_string(i) + "][" + requirement.key + "]",
                                    GoQuote(requirement.values[i]), Join(value_errors, "; ")));
    }
    if (!errors.empty()) return InvalidArgument(Aggregate(errors));
    return requirement;
  }

  Lexer lexer_;
  Lexeme next_;
};

Result<LabelSelector> LabelSelector::Parse(std::string_view text) {
  return LabelSelectorParser(text).Parse();
}

Result<LabelSelector> LabelSelector::FromJson(const nlohmann::json& selector) {
  using Op = Requirement::Op;
  LabelSelector result;
  if (selector.is_null()) return result;
  if (!selector.is_object()) return InvalidArgument("a label selector must be a JSON object");
  std::vector<std::string> errors;
  auto must_be = [&errors](const std::string& path, const Json& value, const char* type) {
    errors.push_back(InvalidError(path, ShowValue(value), std::string("must be ") + type));
  };

  // metav1's ValidateLabelSelector, with its messages.
  if (auto match_labels = selector.find("matchLabels");
      match_labels != selector.end() && !match_labels->is_null()) {
    if (!match_labels->is_object()) {
      must_be("matchLabels", *match_labels, "an object");
    } else {
      for (const auto& [key, value] : match_labels->items()) {
        for (const std::string& message : IsQualifiedName(key)) {
          errors.push_back(InvalidError("matchLabels", GoQuote(key), message));
        }
        if (!value.is_string()) {
          must_be("matchLabels", value, "a string");
          continue;
        }
        const std::string& text = value.get_ref<const std::string&>();
        for (const std::string& message : IsValidLabelValue(text)) {
          errors.push_back(InvalidError("matchLabels", GoQuote(text), message));
        }
        result.requirements_.push_back({Op::kEquals, key, {text}, 0});
      }
    }
  }

  if (auto expressions = selector.find("matchExpressions");
      expressions != selector.end() && !expressions->is_null()) {
    if (!expressions->is_array()) {
      must_be("matchExpressions", *expressions, "an array");
    } else {
      for (size_t i = 0; i < expressions->size(); ++i) {
        const Json& expression = (*expressions)[i];
        const std::string path = "matchExpressions[" + std::to_string(i) + "]";
        if (!expression.is_object()) {
          must_be(path, expression, "an object");
          continue;
        }
        Requirement requirement{Op::kIn, "", {}, 0};
        bool well_formed = true;
        const Json key = Member(expression, "key", "");
        const Json op = Member(expression, "operator", "");
        const Json values = Member(expression, "values", Json::array());
        const bool has_values = !values.is_array() || !values.empty();

        // Upstream's order: the operator and whether it wants values, the key, the values.
        const std::string op_name = op.is_string() ? op.get<std::string>() : "";
        if (!op.is_string()) {
          must_be(path + ".operator", op, "a string");
          well_formed = false;
        } else if (op_name == "In" || op_name == "NotIn") {
          requirement.op = op_name == "In" ? Op::kIn : Op::kNotIn;
          if (!has_values) {
            errors.push_back(path +
                             ".values: Required value: must be specified when `operator` is "
                             "'In' or 'NotIn'");
          }
        } else if (op_name == "Exists" || op_name == "DoesNotExist") {
          requirement.op = op_name == "Exists" ? Op::kExists : Op::kDoesNotExist;
          if (has_values) {
            errors.push_back(path +
                             ".values: Forbidden: may not be specified when `operator` is "
                             "'Exists' or 'DoesNotExist'");
          }
        } else {
          errors.push_back(
              InvalidError(path + ".operator", GoQuote(op_name), "not a valid selector operator"));
        }

        if (key.is_string()) {
          requirement.key = key.get<std::string>();
          for (const std::string& message : IsQualifiedName(requirement.key)) {
            errors.push_back(InvalidError(path + ".key", GoQuote(requirement.key), message));
          }
        } else {
          must_be(path + ".key", key, "a string");
          well_formed = false;
        }

        std::set<std::string> distinct_values;
        if (values.is_array()) {
          for (size_t j = 0; j < values.size(); ++j) {
            const std::string value_path = path + ".values[" + std::to_string(j) + "]";
            if (!values[j].is_string()) {
              must_be(value_path, values[j], "a string");
              well_formed = false;
              continue;
            }
            const std::string& text = values[j].get_ref<const std::string&>();
            for (const std::string& message : IsValidLabelValue(text)) {
              errors.push_back(InvalidError(value_path, GoQuote(text), message));
            }
            distinct_values.insert(text);
          }
        } else {
          must_be(path + ".values", values, "an array");
          well_formed = false;
        }
        if (!well_formed) continue;
        requirement.values.assign(distinct_values.begin(), distinct_values.end());
        result.requirements_.push_back(std::move(requirement));
      }
    }
  }

  if (!errors.empty()) return Invalid(ValidUtf8(Aggregate(errors)));
  std::stable_sort(result.requirements_.begin(), result.requirements_.end(),
                   [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
  return result;
}

bool LabelSelector::Requirement::Matches(const nlohmann::json& labels) const {
  const std::string* value = nullptr;
  if (labels.is_object()) {
    if (auto it = labels.find(key); it != labels.end() && it->is_string()) {
      value = &it->get_ref<const std::string&>();
    }
  }
  auto listed = [&] { return std::binary_search(values.begin(), values.end(), *value); };
  switch (op) {
    case Op::kEquals:
    case Op::kIn:
      return value != nullptr && listed();
    case Op::kNotEquals:
    case Op::kNotIn:
      return value == nullptr || !listed();
    case Op::kExists:
      return value != nullptr;
    case Op::kDoesNotExist:
      return value == nullptr;
    case Op::kGreaterThan:
    case Op::kLessThan: {
      if (value == nullptr) return false;
      const std::optional<int64_t> number = ParseInt64(*value);
      if (!number) return false;
      return op == Op::kGreaterThan ? *number > bound : *number < bound;
    }
  }
  return false;
}

bool LabelSelector::Matches(const nlohmann::json& labels) const {
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&labels](const Requirement& r) { return r.Matches(labels); });
}

// --- Field selectors, after k8s.io/apimachinery/pkg/fields.ParseSelector.

namespace {

// Splits on commas that are not escaped; escapes stay in the terms.
std::vector<std::string_view> SplitTerms(std::string_view text) {
  std::vector<std::string_view> terms;
  if (text.empty()) return terms;
  size_t start = 0;
  bool escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (escaped) {
      escaped = false;
    } else if (text[i] == '\\') {
      escaped = true;
    } else if (text[i] == ',') {
      terms.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  terms.push_back(text.substr(start));
  return terms;
}

// Undoes "\\", "\," and "\="; any other escape, or a bare ',' or '=', is an error.
Result<std::string> UnescapeValue(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (c == ',' || c == '=') {
      return InvalidArgument("invalid field selector: unescaped character in value: " +
                             std::to_string(static_cast<int>(c)));
    }
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++pos == text.size()) {
      return InvalidArgument("invalid field selector: invalid escape sequence: \\");
    }
    const char escaped = text[pos];
    if (escaped != '\\' && escaped != ',' && escaped != '=') {
      const std::string shown = ValidUtf8(text.substr(pos, DecodeUtf8(text, pos).length));
      return InvalidArgument("invalid field selector: invalid escape sequence: \\" + shown);
    }
    out += escaped;
  }
  return out;
}

// The text a field compares as: strings as they are, numbers and booleans as JSON.
std::string FieldText(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean() || value.is_number()) return value.dump();
  return "";
}

}  // namespace

Result<FieldSelector> FieldSelector::Parse(std::string_view text) {
  std::vector<std::string_view> parts = SplitTerms(text);
  std::sort(parts.begin(), parts.end());  // upstream reports the first bad term in this order
  FieldSelector selector;
  for (std::string_view part : parts) {
    if (part.empty()) continue;
    // Keys have no escapes: the first operator splits, "!=" and "==" before "=".
    size_t split = std::string_view::npos;
    size_t op_length = 0;
    for (size_t i = 0; i < part.size() && split == std::string_view::npos; ++i) {
      const std::string_view rest = part.substr(i);
      if (rest.starts_with("!=") || rest.starts_with("==")) {
        split = i;
        op_length = 2;
      } else if (rest.starts_with("=")) {
        split = i;
        op_length = 1;
      }
    }
    if (split == std::string_view::npos) {
      return InvalidArgument(ValidUtf8("invalid selector: '" + std::string(text) +
                                       "'; can't understand '" + std::string(part) + "'"));
    }
    Result<std::string> value = UnescapeValue(part.substr(split + op_length));
    if (!value.ok()) return value.status();

    std::string_view path = part.substr(0, split);
    if (path.empty() && value->empty()) continue;  // "=" or "!=" alone: upstream drops it
    Term term;
    term.negate = part[split] == '!';
    term.value = std::move(value).value();
    while (true) {
      const size_t dot = path.find('.');
      term.path.emplace_back(path.substr(0, dot));
      if (dot == std::string_view::npos) break;
      path.remove_prefix(dot + 1);
    }
    selector.terms_.push_back(std::move(term));
  }
  return selector;
}

bool FieldSelector::Matches(const nlohmann::json& object) const {
  for (const Term& term : terms_) {
    const Json* node = &object;
    for (const std::string& segment : term.path) {
      if (!node->is_object()) {
        node = nullptr;
        break;
      }
      auto it = node->find(segment);
      if (it == node->end()) {
        node = nullptr;
        break;
      }
      node = &*it;
    }
    const bool equal = (node == nullptr ? std::string() : FieldText(*node)) == term.value;
    if (equal == term.negate) return false;
  }
  return true;
}

}  // namespace vdisk::api
