#include "api/selector.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vdisk::api {
namespace {

using Json = nlohmann::json;

constexpr char kLabelValueRegexError[] =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
constexpr char kNamePartRegexError[] =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

LabelSelector MustParseLabels(std::string_view text) {
  Result<LabelSelector> selector = LabelSelector::Parse(text);
  EXPECT_TRUE(selector.ok()) << text << ": " << selector.status().message();
  return selector.ok() ? *selector : LabelSelector();
}

std::string LabelParseError(std::string_view text) {
  Result<LabelSelector> selector = LabelSelector::Parse(text);
  if (selector.ok()) return "parsed";
  EXPECT_EQ(selector.status().code(), StatusCode::kInvalidArgument);
  return selector.status().message();
}

bool LabelsMatch(std::string_view selector, const Json& labels) {
  return MustParseLabels(selector).Matches(labels);
}

// --- Label selector text, with cases from k8s.io/apimachinery/pkg/labels/selector_test.go.

TEST(LabelSelectorTest, ParsesUpstreamGoodStrings) {
  for (const char* text : {"x=a,y=b,z=c",
                           "",
                           "x!=a,y=b",
                           "x=",
                           "x= ",
                           "x=,z= ",
                           "x= ,z= ",
                           "!x",
                           "x>1",
                           "x>1,z<5",
                           "\rx",
                           "this-is-a-dns.domain.com/key-with-dash",
                           "this-is-another-dns.domain.com/key-with-dash in (so,what)",
                           "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
                           "foo  in\t (abc)",
                           "x notin\n (abc)",
                           "x  notin\t\t\t(abc,def)",
                           "x in (abc,)",
                           "x in (abc,abc)",
                           "x in ()",
                           "x in (a,,)",
                           "x in (a,,,,,,)",
                           "x in (a,,a,,a,,a,,)",
                           "x notin (abc,,def),bar,z in (),w",
                           "x notin ( )",
                           "x notin (, a)",
                           "a ",
                           "a in (x,y,notin, z,in)",
                           "in in (in)",
                           "a=b,c!=d,e in (x,y),f notin (z),g,!h"}) {
    EXPECT_EQ(LabelParseError(text), "parsed") << text;
  }
  EXPECT_TRUE(MustParseLabels("").Empty());
  EXPECT_TRUE(MustParseLabels("  ").Empty());
  EXPECT_FALSE(MustParseLabels("x").Empty());
}

TEST(LabelSelectorTest, RejectsUpstreamBadStrings) {
  for (const char* text : {"x=a||y=b", "x==a==b", "!x=a", "x<a", "x,,y", ",x,y", "x nott in (y)",
                           "a in (xyz),", "a in (xyz)b notin ()", "a in (xyz abc)", "a notin(",
                           "a (", "(", "x=a b", "x in (a", "x in a", "!", "!!x", "x=(a)"}) {
    EXPECT_NE(LabelParseError(text), "parsed") << text;
  }
}

// Messages as upstream's labels.Parse returns them, word for word.
TEST(LabelSelectorTest, ErrorMessagesMatchUpstream) {
  EXPECT_EQ(LabelParseError("x==a==b"), "found '==', expected: ',' or 'end of string'");
  EXPECT_EQ(LabelParseError("!x=a"), "found '=', expected: ',' or 'end of string'");
  EXPECT_EQ(LabelParseError("x,"), "found '', expected: identifier after ','");
  EXPECT_EQ(LabelParseError(",x"), "found ',', expected: !, identifier, or 'end of string'");
  EXPECT_EQ(LabelParseError("("), "found '(', expected: !, identifier, or 'end of string'");
  EXPECT_EQ(LabelParseError("a in (xyz)b notin ()"), "found 'b', expected: ',' or 'end of string'");
  EXPECT_EQ(LabelParseError("x nott in (y)"),
            "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt");
  EXPECT_EQ(LabelParseError("a ("),
            "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt");
  EXPECT_EQ(LabelParseError("a in x"), "unable to parse requirement: found 'x' expected: '('");
  EXPECT_EQ(LabelParseError("a in (xyz abc)"),
            "unable to parse requirement: found 'abc', expected: ',' or ')'");
  EXPECT_EQ(LabelParseError("a notin("),
            "unable to parse requirement: found '', expected: ',', ')' or identifier");
  EXPECT_EQ(LabelParseError("a in (,"),
            "unable to parse requirement: found '', expected: ',', or identifier");
  EXPECT_EQ(LabelParseError("x<a"),
            "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' "
            "operators, the value must be an integer");
  EXPECT_EQ(LabelParseError("-a=b"),
            std::string("unable to parse requirement: <nil>: Invalid value: \"-a\": ") +
                kNamePartRegexError);
  EXPECT_EQ(LabelParseError("k/" + std::string(64, 'x')),
            "unable to parse requirement: <nil>: Invalid value: \"k/" + std::string(64, 'x') +
                "\": name part must be no more than 63 bytes");
  EXPECT_EQ(LabelParseError("a=b_"),
            std::string("unable to parse requirement: values[0][a]: Invalid value: \"b_\": ") +
                kLabelValueRegexError);
  EXPECT_EQ(LabelParseError("a=" + std::string(64, 'v')),
            "unable to parse requirement: values[0][a]: Invalid value: \"" + std::string(64, 'v') +
                "\": must be no more than 63 bytes");
  // Several errors print as a bracketed list, duplicates once.
  EXPECT_EQ(LabelParseError("x in (a_,b_)"),
            std::string("unable to parse requirement: [values[0][x]: Invalid value: \"a_\": ") +
                kLabelValueRegexError +
                ", values[1][x]: Invalid value: \"b_\": " + kLabelValueRegexError + "]");
  EXPECT_EQ(LabelParseError("x>1,y>a_"),
            std::string("unable to parse requirement: [values[0]: Invalid value: \"a_\": for "
                        "'Gt', 'Lt' operators, the value must be an integer, values[0][y]: "
                        "Invalid value: \"a_\": ") +
                kLabelValueRegexError + "]");
}

TEST(LabelSelectorTest, MatchesAsUpstream) {
  EXPECT_TRUE(LabelsMatch("", {{"x", "y"}}));
  EXPECT_TRUE(LabelsMatch("x=y", {{"x", "y"}}));
  EXPECT_TRUE(LabelsMatch("x==y", {{"x", "y"}}));
  EXPECT_TRUE(LabelsMatch("x=y,z=w", {{"x", "y"}, {"z", "w"}}));
  EXPECT_TRUE(LabelsMatch("x!=y,z!=w", {{"x", "z"}, {"z", "a"}}));
  EXPECT_TRUE(LabelsMatch("notin=in", {{"notin", "in"}}));
  EXPECT_TRUE(LabelsMatch("x", {{"x", "z"}}));
  EXPECT_TRUE(LabelsMatch("!x", {{"y", "z"}}));
  EXPECT_TRUE(LabelsMatch("x>1", {{"x", "2"}}));
  EXPECT_TRUE(LabelsMatch("x<1", {{"x", "0"}}));
  EXPECT_FALSE(LabelsMatch("x=z", Json::object()));
  EXPECT_FALSE(LabelsMatch("x=y", {{"x", "z"}}));
  EXPECT_FALSE(LabelsMatch("x=y,z=w", {{"x", "w"}, {"z", "w"}}));
  EXPECT_FALSE(LabelsMatch("x!=y,z!=w", {{"x", "z"}, {"z", "w"}}));
  EXPECT_FALSE(LabelsMatch("x", {{"y", "z"}}));
  EXPECT_FALSE(LabelsMatch("!x", {{"x", "z"}}));
  EXPECT_FALSE(LabelsMatch("x>1", {{"x", "0"}}));
  EXPECT_FALSE(LabelsMatch("x<1", {{"x", "2"}}));

  const Json labels = {{"foo", "bar"}, {"baz", "blah"}};
  EXPECT_TRUE(LabelsMatch("foo=bar", labels));
  EXPECT_TRUE(LabelsMatch("baz=blah", labels));
  EXPECT_TRUE(LabelsMatch("foo=bar,baz=blah", labels));
  EXPECT_FALSE(LabelsMatch("foo=blah", labels));
  EXPECT_FALSE(LabelsMatch("baz=bar", labels));
  EXPECT_FALSE(LabelsMatch("foo=bar,foobar=bar,baz=blah", labels));
}

TEST(LabelSelectorTest, SetBasedRequirements) {
  const Json labels = {{"env", "prod"}, {"tier", "db"}};
  EXPECT_TRUE(LabelsMatch("env in (prod,dev)", labels));
  EXPECT_FALSE(LabelsMatch("env in (dev)", labels));
  EXPECT_FALSE(LabelsMatch("missing in (dev)", labels));
  EXPECT_TRUE(LabelsMatch("env notin (dev)", labels));
  EXPECT_TRUE(LabelsMatch("missing notin (dev)", labels));
  EXPECT_FALSE(LabelsMatch("tier notin (db,cache)", labels));
  // Empty entries stand for the empty value.
  EXPECT_TRUE(LabelsMatch("x in ()", {{"x", ""}}));
  EXPECT_TRUE(LabelsMatch("x in (a,)", {{"x", ""}}));
  EXPECT_FALSE(LabelsMatch("x in (a)", {{"x", ""}}));
  EXPECT_TRUE(LabelsMatch("x=", {{"x", ""}}));
  EXPECT_TRUE(LabelsMatch("a=b,c!=d,e in (x,y),f notin (z),g,!h",
                          {{"a", "b"}, {"e", "y"}, {"f", "q"}, {"g", ""}}));
  EXPECT_FALSE(LabelsMatch("a=b,c!=d,e in (x,y),f notin (z),g,!h",
                           {{"a", "b"}, {"e", "y"}, {"f", "q"}, {"g", ""}, {"h", "1"}}));
}

TEST(LabelSelectorTest, IntegerComparisons) {
  EXPECT_TRUE(LabelsMatch("x>9", {{"x", "10"}}));
  EXPECT_FALSE(LabelsMatch("x>9", {{"x", "9"}}));
  EXPECT_FALSE(LabelsMatch("x>9", {{"x", "ten"}}));
  EXPECT_FALSE(LabelsMatch("x>9", Json::object()));
  EXPECT_TRUE(LabelsMatch("x<9223372036854775807", {{"x", "-9223372036854775808"}}));
  EXPECT_FALSE(LabelsMatch("x<1", {{"x", "-9223372036854775809"}}));  // out of int64 range
  EXPECT_TRUE(LabelsMatch("x>1", {{"x", "+5"}}));
  EXPECT_NE(LabelParseError("x>99999999999999999999"), "parsed");
}

TEST(LabelSelectorTest, NonStringOrMissingLabelsCountAsAbsent) {
  EXPECT_TRUE(LabelsMatch("!x", nullptr));
  EXPECT_TRUE(LabelsMatch("x!=a", nullptr));
  EXPECT_FALSE(LabelsMatch("x", Json::array()));
  EXPECT_FALSE(LabelsMatch("x", {{"x", 1}}));
  EXPECT_TRUE(LabelsMatch("", nullptr));
}

// Upstream's lexer ends the text at a NUL byte inside a token boundary; here a NUL is data, and
// so an invalid key or value, instead of silently dropping the rest of the selector.
TEST(LabelSelectorTest, NulBytesAreNotTerminators) {
  EXPECT_NE(LabelParseError(std::string_view("a=b\0,c", 6)), "parsed");
  EXPECT_NE(LabelParseError(std::string_view("\0", 1)), "parsed");
}

TEST(LabelSelectorTest, MessagesStayUtf8) {
  const std::string message = LabelParseError("x=\xff\xfe");
  EXPECT_NE(message.find("\"\\xff\\xfe\""), std::string::npos) << message;
  const std::string found = LabelParseError("x \xff");
  EXPECT_NO_THROW((void)Json(found).dump());
  EXPECT_NE(found.find("\xEF\xBF\xBD"), std::string::npos) << found;
}

TEST(LabelSelectorTest, LongInputIsLinear) {
  std::string text;
  for (int i = 0; i < 50000; ++i) text += "k" + std::to_string(i) + "=v,";
  text += "last";
  const LabelSelector selector = MustParseLabels(text);
  EXPECT_FALSE(selector.Matches({{"k1", "v"}}));
  EXPECT_NE(LabelParseError(std::string(1 << 20, '(')), "parsed");
  EXPECT_NE(LabelParseError("x in (" + std::string(1 << 20, ',')), "parsed");
}

// --- metav1.LabelSelector objects.

std::string JsonError(const Json& selector) {
  Result<LabelSelector> parsed = LabelSelector::FromJson(selector);
  if (parsed.ok()) return "parsed";
  return parsed.status().message();
}

TEST(LabelSelectorJsonTest, EmptyAndNullMatchEverything) {
  for (const Json& selector :
       {Json(nullptr), Json::object(),
        Json{{"matchLabels", nullptr}, {"matchExpressions", nullptr}},
        Json{{"matchLabels", Json::object()}, {"matchExpressions", Json::array()}}}) {
    Result<LabelSelector> parsed = LabelSelector::FromJson(selector);
    ASSERT_TRUE(parsed.ok()) << selector.dump();
    EXPECT_TRUE(parsed->Empty());
    EXPECT_TRUE(parsed->Matches({{"any", "thing"}}));
    EXPECT_TRUE(parsed->Matches(nullptr));
  }
}

TEST(LabelSelectorJsonTest, MatchLabelsAndExpressions) {
  const Json selector = {
      {"matchLabels", {{"app", "web"}}},
      {"matchExpressions",
       {{{"key", "env"}, {"operator", "In"}, {"values", {"prod", "staging"}}},
        {{"key", "tier"}, {"operator", "NotIn"}, {"values", {"cache"}}},
        {{"key", "owner"}, {"operator", "Exists"}},
        {{"key", "legacy"}, {"operator", "DoesNotExist"}, {"values", nullptr}}}}};
  Result<LabelSelector> parsed = LabelSelector::FromJson(selector);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_TRUE(parsed->Matches({{"app", "web"}, {"env", "prod"}, {"owner", "me"}}));
  EXPECT_TRUE(parsed->Matches({{"app", "web"}, {"env", "staging"}, {"owner", ""}, {"tier", "db"}}));
  EXPECT_FALSE(parsed->Matches({{"app", "api"}, {"env", "prod"}, {"owner", "me"}}));
  EXPECT_FALSE(parsed->Matches({{"app", "web"}, {"env", "dev"}, {"owner", "me"}}));
  EXPECT_FALSE(
      parsed->Matches({{"app", "web"}, {"env", "prod"}, {"owner", "me"}, {"tier", "cache"}}));
  EXPECT_FALSE(parsed->Matches({{"app", "web"}, {"env", "prod"}}));
  EXPECT_FALSE(
      parsed->Matches({{"app", "web"}, {"env", "prod"}, {"owner", "me"}, {"legacy", "1"}}));
}

TEST(LabelSelectorJsonTest, OperatorRulesWithUpstreamMessages) {
  EXPECT_EQ(JsonError({{"matchExpressions", {{{"key", "a"}, {"operator", "In"}}}}}),
            "matchExpressions[0].values: Required value: must be specified when `operator` is "
            "'In' or 'NotIn'");
  EXPECT_EQ(JsonError({{"matchExpressions",
                        {{{"key", "a"}, {"operator", "NotIn"}, {"values", Json::array()}}}}}),
            "matchExpressions[0].values: Required value: must be specified when `operator` is "
            "'In' or 'NotIn'");
  EXPECT_EQ(JsonError({{"matchExpressions",
                        {{{"key", "a"}, {"operator", "Exists"}, {"values", {"x"}}}}}}),
            "matchExpressions[0].values: Forbidden: may not be specified when `operator` is "
            "'Exists' or 'DoesNotExist'");
  EXPECT_EQ(JsonError({{"matchExpressions", {{{"key", "a"}, {"operator", "Gt"}}}}}),
            "matchExpressions[0].operator: Invalid value: \"Gt\": not a valid selector operator");
  EXPECT_EQ(JsonError({{"matchExpressions", {{{"key", "a"}, {"operator", "in"}}}}}),
            "matchExpressions[0].operator: Invalid value: \"in\": not a valid selector operator");
  EXPECT_EQ(JsonError({{"matchExpressions", {{{"key", "a"}}}}}),
            "matchExpressions[0].operator: Invalid value: \"\": not a valid selector operator");
}

TEST(LabelSelectorJsonTest, KeysAndValuesAreValidated) {
  EXPECT_EQ(JsonError({{"matchLabels", {{"-a", "ok"}}}}),
            std::string("matchLabels: Invalid value: \"-a\": ") + kNamePartRegexError);
  EXPECT_EQ(JsonError({{"matchLabels", {{"a", "bad value"}}}}),
            std::string("matchLabels: Invalid value: \"bad value\": ") + kLabelValueRegexError);
  EXPECT_EQ(JsonError({{"matchExpressions",
                        {{{"key", "a"}, {"operator", "In"}, {"values", {"ok", "b_"}}}}}}),
            std::string("matchExpressions[0].values[1]: Invalid value: \"b_\": ") +
                kLabelValueRegexError);
  EXPECT_EQ(JsonError({{"matchExpressions", {{{"operator", "Exists"}}}}}),
            std::string("[matchExpressions[0].key: Invalid value: \"\": name part must be "
                        "non-empty, matchExpressions[0].key: Invalid value: \"\": ") +
                kNamePartRegexError + "]");
}

TEST(LabelSelectorJsonTest, ReportsInUpstreamOrder) {
  EXPECT_EQ(JsonError({{"matchExpressions",
                        {{{"key", "-k"}, {"operator", "In"}, {"values", {"ok", "-v"}}},
                         {{"key", "-k"}, {"operator", "Exists"}, {"values", {"x"}}}}}}),
            std::string("[matchExpressions[0].key: Invalid value: \"-k\": ") + kNamePartRegexError +
                ", matchExpressions[0].values[1]: Invalid value: \"-v\": " + kLabelValueRegexError +
                ", matchExpressions[1].values: Forbidden: may not be specified when `operator` "
                "is 'Exists' or 'DoesNotExist', matchExpressions[1].key: Invalid value: \"-k\": " +
                kNamePartRegexError + "]");
}

TEST(LabelSelectorJsonTest, ReportsEveryProblem) {
  const std::string message =
      JsonError({{"matchLabels", {{"a", 1}}},
                 {"matchExpressions",
                  {{{"key", "a"}, {"operator", "In"}},
                   {{"key", "b"}, {"operator", "Exists"}, {"values", {"x"}}},
                   "not an object"}}});
  EXPECT_EQ(message,
            "[matchLabels: Invalid value: 1: must be a string, matchExpressions[0].values: "
            "Required value: must be specified when `operator` is 'In' or 'NotIn', "
            "matchExpressions[1].values: Forbidden: may not be specified when `operator` is "
            "'Exists' or 'DoesNotExist', matchExpressions[2]: Invalid value: \"not an object\": "
            "must be an object]");
  EXPECT_EQ(LabelSelector::FromJson({{"matchLabels", {{"a", 1}}}}).status().code(),
            StatusCode::kInvalid);
}

TEST(LabelSelectorJsonTest, RejectsWrongTypes) {
  EXPECT_EQ(JsonError("app=web"), "a label selector must be a JSON object");
  EXPECT_EQ(JsonError({{"matchLabels", {"a", "b"}}}),
            "matchLabels: Invalid value: [\"a\",\"b\"]: must be an object");
  EXPECT_EQ(JsonError({{"matchExpressions", {{"key", "a"}}}}),
            "matchExpressions: Invalid value: {\"key\":\"a\"}: must be an array");
  EXPECT_EQ(JsonError({{"matchExpressions", {{{"key", 5}, {"operator", "Exists"}}}}}),
            "matchExpressions[0].key: Invalid value: 5: must be a string");
  EXPECT_EQ(JsonError({{"matchExpressions", {{{"key", "a"}, {"operator", true}}}}}),
            "matchExpressions[0].operator: Invalid value: true: must be a string");
  EXPECT_EQ(
      JsonError({{"matchExpressions", {{{"key", "a"}, {"operator", "In"}, {"values", "x"}}}}}),
      "matchExpressions[0].values: Invalid value: \"x\": must be an array");
  EXPECT_EQ(
      JsonError({{"matchExpressions", {{{"key", "a"}, {"operator", "In"}, {"values", {1}}}}}}),
      "matchExpressions[0].values[0]: Invalid value: 1: must be a string");
}

// --- Field selectors, with cases from k8s.io/apimachinery/pkg/fields.

FieldSelector MustParseFields(std::string_view text) {
  Result<FieldSelector> selector = FieldSelector::Parse(text);
  EXPECT_TRUE(selector.ok()) << text << ": " << selector.status().message();
  return selector.ok() ? *selector : FieldSelector();
}

std::string FieldParseError(std::string_view text) {
  Result<FieldSelector> selector = FieldSelector::Parse(text);
  if (selector.ok()) return "parsed";
  EXPECT_EQ(selector.status().code(), StatusCode::kInvalidArgument);
  return selector.status().message();
}

bool FieldsMatch(std::string_view selector, const Json& object) {
  return MustParseFields(selector).Matches(object);
}

TEST(FieldSelectorTest, ParsesUpstreamGoodStrings) {
  for (const char* text : {"x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ",
                           "metadata.name==vm", "a=b,", ",a=b", ",,", "x==a\\,b", "x=a\\=b\\\\c"}) {
    EXPECT_EQ(FieldParseError(text), "parsed") << text;
  }
  EXPECT_TRUE(MustParseFields("").Empty());
  EXPECT_TRUE(MustParseFields(",").Empty());
  EXPECT_FALSE(MustParseFields("a=b").Empty());
}

TEST(FieldSelectorTest, ErrorMessagesMatchUpstream) {
  EXPECT_EQ(FieldParseError("abc"), "invalid selector: 'abc'; can't understand 'abc'");
  EXPECT_EQ(FieldParseError("a=b,c"), "invalid selector: 'a=b,c'; can't understand 'c'");
  EXPECT_EQ(FieldParseError("a,b=c"), "invalid selector: 'a,b=c'; can't understand 'a'");
  EXPECT_EQ(FieldParseError("a.b=c\\"), "invalid field selector: invalid escape sequence: \\");
  EXPECT_EQ(FieldParseError("a=b\\x"), "invalid field selector: invalid escape sequence: \\x");
  EXPECT_EQ(FieldParseError("a=\\é"), "invalid field selector: invalid escape sequence: \\é");
  EXPECT_EQ(FieldParseError("a=b=c"), "invalid field selector: unescaped character in value: 61");
  EXPECT_EQ(FieldParseError("a===b"), "invalid field selector: unescaped character in value: 61");
  EXPECT_EQ(FieldParseError("a=\\\xff"),
            "invalid field selector: invalid escape sequence: \\\xEF\xBF\xBD");
}

TEST(FieldSelectorTest, MatchesDottedPaths) {
  const Json object = {{"metadata", {{"name", "vm-1"}, {"namespace", "default"}}},
                       {"status", {{"phase", "Running"}, {"ready", true}, {"restarts", 3}}},
                       {"spec", {{"list", {1, 2}}}}};
  EXPECT_TRUE(FieldsMatch("metadata.name=vm-1", object));
  EXPECT_TRUE(FieldsMatch("metadata.name==vm-1,metadata.namespace=default", object));
  EXPECT_FALSE(FieldsMatch("metadata.name=vm-2", object));
  EXPECT_TRUE(FieldsMatch("metadata.name!=vm-2", object));
  EXPECT_FALSE(FieldsMatch("metadata.name!=vm-1", object));
  EXPECT_TRUE(FieldsMatch("status.phase=Running", object));
  EXPECT_TRUE(FieldsMatch("status.ready=true", object));
  EXPECT_TRUE(FieldsMatch("status.restarts=3", object));
  // Missing paths, objects and arrays compare as "".
  EXPECT_TRUE(FieldsMatch("spec.nodeName=", object));
  EXPECT_TRUE(FieldsMatch("spec.nodeName!=node-1", object));
  EXPECT_TRUE(FieldsMatch("metadata.name.deeper=", object));
  EXPECT_TRUE(FieldsMatch("spec.list=", object));
  EXPECT_TRUE(FieldsMatch("metadata=", object));
  EXPECT_TRUE(FieldsMatch("", object));
  EXPECT_TRUE(FieldsMatch("metadata.name=", Json(nullptr)));
}

TEST(FieldSelectorTest, UnescapesValues) {
  EXPECT_TRUE(FieldsMatch("a=x\\,y", {{"a", "x,y"}}));
  EXPECT_TRUE(FieldsMatch("a=x\\=y", {{"a", "x=y"}}));
  EXPECT_TRUE(FieldsMatch("a=x\\\\y", {{"a", "x\\y"}}));
  EXPECT_TRUE(FieldsMatch("a=x\\,y,b=z", {{"a", "x,y"}, {"b", "z"}}));
  EXPECT_FALSE(FieldsMatch("a=x\\,y,b=z", {{"a", "x,y"}, {"b", "w"}}));
}

// Upstream drops a term whose field and value are both empty: "=" alone selects everything.
TEST(FieldSelectorTest, EmptyTermsSelectEverything) {
  EXPECT_TRUE(MustParseFields("=").Empty());
  EXPECT_TRUE(MustParseFields("!=").Empty());
  EXPECT_TRUE(FieldsMatch("!=,==", {{"", "x"}}));
  EXPECT_FALSE(FieldsMatch("=x", {{"", "y"}}));
}

}  // namespace
}  // namespace vdisk::api
