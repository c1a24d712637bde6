#include "api/names.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vdisk::api {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Messages exactly as k8s.io/apimachinery 1.35+ prints them.
constexpr char kSubdomainRegexError[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
constexpr char kLabelRegexError[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
constexpr char kNamePartRegexError[] =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
constexpr char kLabelValueRegexError[] =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

TEST(NamesTest, Dns1123SubdomainAcceptsUpstreamExamples) {
  for (const std::string& name : {std::string("a"),
                                  std::string("ab"),
                                  std::string("abc"),
                                  std::string("a1"),
                                  std::string("a-1"),
                                  std::string("a--1--2--b"),
                                  std::string("0"),
                                  std::string("01"),
                                  std::string("012"),
                                  std::string("1a"),
                                  std::string("1-a"),
                                  std::string("1--a--b--2"),
                                  std::string("a.a"),
                                  std::string("ab.a"),
                                  std::string("a-1.a"),
                                  std::string("0.a"),
                                  std::string("a.b.c.d.e"),
                                  std::string("aa.bb.cc.dd.ee"),
                                  std::string("1.2.3.4.5"),
                                  std::string(253, 'a'),
                                  std::string(63, 'a') + "." + std::string(63, 'b')}) {
    EXPECT_THAT(IsDns1123Subdomain(name), IsEmpty()) << name;
  }
}

TEST(NamesTest, Dns1123SubdomainRejectsWithUpstreamMessages) {
  for (const char* name : {"",
                           "A",
                           "ABC",
                           "aBc",
                           "A1",
                           "A-1",
                           "1-A",
                           "-",
                           "a-",
                           "-a",
                           "1-",
                           "-1",
                           "_",
                           "a_",
                           "_a",
                           "a_b",
                           "1_",
                           "_1",
                           "1_2",
                           ".",
                           "a.",
                           ".a",
                           "a..b",
                           "1.",
                           ".1",
                           "1..2",
                           " ",
                           "a ",
                           " a",
                           "a b",
                           "1 ",
                           " 1",
                           "1 2",
                           "A.a",
                           "aB.a",
                           "ab.A",
                           "A1.a",
                           "a1.A",
                           "A.1",
                           "aB.1",
                           "A1.1",
                           "1A.1",
                           "0.A",
                           "01.A",
                           "012.A",
                           "1A.a",
                           "1a.A",
                           "A.B.C.D.E",
                           "AA.BB.CC.DD.EE",
                           "a.B.c.d.e",
                           "aa.bB.cc.dd.ee",
                           "a@b",
                           "a,b",
                           "a!b",
                           "a\nb"}) {
    EXPECT_THAT(IsDns1123Subdomain(name), ElementsAre(kSubdomainRegexError)) << name;
  }
  EXPECT_THAT(IsDns1123Subdomain(std::string(254, 'a')),
              ElementsAre("must be no more than 253 characters"));
  EXPECT_THAT(IsDns1123Subdomain(std::string(254, 'A')),
              ElementsAre("must be no more than 253 characters", kSubdomainRegexError));
}

TEST(NamesTest, Dns1123Label) {
  for (const std::string& name :
       {std::string("a"), std::string("ab"), std::string("a-1"), std::string("0"),
        std::string("1--a--b--2"), std::string(63, 'a')}) {
    EXPECT_THAT(IsDns1123Label(name), IsEmpty()) << name;
  }
  EXPECT_THAT(IsDns1123Label("a.b"), ElementsAre("must not contain dots"));
  for (const char* name : {"", "A", "-a", "a-", "a_b", "a..b", ".a", "a b"}) {
    EXPECT_THAT(IsDns1123Label(name), ElementsAre(kLabelRegexError)) << name;
  }
  EXPECT_THAT(IsDns1123Label(std::string(64, 'a')),
              ElementsAre("must be no more than 63 characters"));
  // Too long and dotted: the length is reported, and the dots as well.
  EXPECT_THAT(IsDns1123Label(std::string(40, 'a') + "." + std::string(40, 'a')),
              ElementsAre("must be no more than 63 characters", "must not contain dots"));
}

TEST(NamesTest, QualifiedNameAcceptsUpstreamExamples) {
  for (const std::string& name :
       {std::string("simple"), std::string("now-with-dashes"), std::string("1-starts-with-num"),
        std::string("1234"), std::string("simple/simple"), std::string("now-with-dashes/simple"),
        std::string("now-with-dashes/now-with-dashes"), std::string("now.with.dots/simple"),
        std::string("now-with.dashes-and.dots/simple"), std::string("1-num.2-num/3-num"),
        std::string("1234/5678"), std::string("1.2.3.4/5678"), std::string("Uppercase_Is_OK_123"),
        std::string("example.com/Uppercase_Is_OK_123"), std::string("requests.storage-foo"),
        std::string(63, 'a'), std::string(253, 'a') + "/" + std::string(63, 'b')}) {
    EXPECT_THAT(IsQualifiedName(name), IsEmpty()) << name;
  }
}

TEST(NamesTest, QualifiedNameRejectsUpstreamExamples) {
  for (const std::string& name :
       {std::string("nospecialchars%^=@"), std::string("cantendwithadash-"),
        std::string("-cantstartwithadash-"), std::string("only/one/slash"),
        std::string("Example.com/abc"), std::string("example_com/abc"), std::string("example.com/"),
        std::string("/simple"), std::string(64, 'a'), std::string(254, 'a') + "/abc"}) {
    EXPECT_THAT(IsQualifiedName(name), Not(IsEmpty())) << name;
  }
}

TEST(NamesTest, QualifiedNameMessages) {
  EXPECT_THAT(IsQualifiedName("-a"), ElementsAre(kNamePartRegexError));
  EXPECT_THAT(IsQualifiedName(""), ElementsAre("name part must be non-empty", kNamePartRegexError));
  EXPECT_THAT(IsQualifiedName("example.com/"),
              ElementsAre("name part must be non-empty", kNamePartRegexError));
  EXPECT_THAT(IsQualifiedName("/simple"), ElementsAre("prefix part must be non-empty"));
  EXPECT_THAT(IsQualifiedName("Example.com/abc"),
              ElementsAre(std::string("prefix part ") + kSubdomainRegexError));
  EXPECT_THAT(IsQualifiedName(std::string(254, 'a') + "/abc"),
              ElementsAre("prefix part must be no more than 253 bytes"));
  EXPECT_THAT(IsQualifiedName(std::string(64, 'a')),
              ElementsAre("name part must be no more than 63 bytes"));
  EXPECT_THAT(
      IsQualifiedName("only/one/slash"),
      ElementsAre("a valid label key must consist of alphanumeric characters, '-', '_' or '.', "
                  "and must start and end with an alphanumeric character (e.g. 'MyName',  or "
                  "'my.name',  or '123-abc', regex used for validation is "
                  "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain "
                  "prefix and '/' (e.g. 'example.com/MyName')"));
}

TEST(NamesTest, LabelValue) {
  for (const std::string& value :
       {std::string("simple"), std::string("now-with-dashes"), std::string("1-starts-with-num"),
        std::string("end-with-num-1"), std::string("1234"), std::string(63, 'a'), std::string(""),
        std::string("Mixed_Case.and-dots")}) {
    EXPECT_THAT(IsValidLabelValue(value), IsEmpty()) << value;
  }
  for (const char* value : {"nospecialchars%^=@", "Tama-nui-te-rā.is.Māori.sun",
                            "\\backslashes\\are\\bad", "-starts-with-dash", "ends-with-dash-",
                            ".starts.with.dot", "ends.with.dot.", "a b", "a/b"}) {
    EXPECT_THAT(IsValidLabelValue(value), ElementsAre(kLabelValueRegexError)) << value;
  }
  EXPECT_THAT(IsValidLabelValue(std::string(64, 'a')),
              ElementsAre("must be no more than 63 bytes"));
}

std::vector<std::string> Validate(const nlohmann::json& metadata,
                                  const std::string& path = "metadata") {
  FieldErrors errors;
  ValidateLabelsAndAnnotations(metadata, path, errors);
  std::vector<std::string> printed;
  for (const FieldError& error : errors) printed.push_back(error.ToString());
  return printed;
}

TEST(NamesTest, ValidMetadataHasNoErrors) {
  EXPECT_THAT(Validate(nlohmann::json::object()), IsEmpty());
  EXPECT_THAT(Validate({{"labels", nullptr}, {"annotations", nullptr}}), IsEmpty());
  EXPECT_THAT(Validate({{"labels", {{"app", "web"}, {"example.com/tier", ""}}},
                        {"annotations", {{"Example.COM/Note", "any text at all: {}"}}}}),
              IsEmpty());
  EXPECT_THAT(Validate(nullptr), IsEmpty());
}

TEST(NamesTest, ReportsBadLabelKeysAndValues) {
  EXPECT_THAT(
      Validate({{"labels", {{"-bad", "ok"}, {"good", "bad value"}}}}),
      ElementsAre(
          std::string("metadata.labels: Invalid value: \"-bad\": ") + kNamePartRegexError,
          std::string("metadata.labels: Invalid value: \"bad value\": ") + kLabelValueRegexError));
  FieldErrors errors;
  ValidateLabelsAndAnnotations({{"labels", {{"a", std::string(64, 'x')}}}}, "metadata", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].type, FieldError::Type::kInvalid);
  EXPECT_EQ(errors[0].field, "metadata.labels");
  EXPECT_EQ(errors[0].detail, "must be no more than 63 bytes");
}

TEST(NamesTest, AnnotationKeysIgnoreCase) {
  EXPECT_THAT(Validate({{"annotations", {{"Example.com/Key", "v"}}}}), IsEmpty());
  EXPECT_THAT(Validate({{"labels", {{"Example.com/Key", "v"}}}}),
              ElementsAre(std::string("metadata.labels: Invalid value: \"Example.com/Key\": "
                                      "prefix part ") +
                          kSubdomainRegexError));
  EXPECT_THAT(Validate({{"annotations", {{"a b", "v"}}}}),
              ElementsAre(std::string("metadata.annotations: Invalid value: \"a b\": ") +
                          kNamePartRegexError));
}

TEST(NamesTest, LimitsTotalAnnotationSize) {
  const size_t limit = 256 * 1024;
  // Keys count too: "a" + value of limit-1 bytes is exactly at the limit.
  EXPECT_THAT(Validate({{"annotations", {{"a", std::string(limit - 1, 'x')}}}}), IsEmpty());
  FieldErrors errors;
  ValidateLabelsAndAnnotations(
      {{"annotations", {{"a", std::string(limit / 2, 'x')}, {"b", std::string(limit / 2, 'x')}}}},
      "metadata", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].type, FieldError::Type::kTooLong);
  EXPECT_EQ(errors[0].field, "metadata.annotations");
  EXPECT_EQ(errors[0].detail, "may not be more than 262144 bytes");
}

TEST(NamesTest, ReportsWrongTypes) {
  EXPECT_THAT(Validate({{"labels", {1, 2}}, {"annotations", "text"}}),
              ElementsAre("metadata.labels: Invalid value: [1,2]: must be an object",
                          "metadata.annotations: Invalid value: \"text\": must be an object"));
  EXPECT_THAT(Validate({{"labels", {{"a", 1}}}, {"annotations", {{"b", true}}}}),
              ElementsAre("metadata.labels: Invalid value: 1: must be a string",
                          "metadata.annotations: Invalid value: true: must be a string"));
}

TEST(NamesTest, UsesTheGivenPath) {
  EXPECT_THAT(Validate({{"labels", {{"a", "-"}}}}, "spec.template.metadata"),
              ElementsAre(std::string("spec.template.metadata.labels: Invalid value: \"-\": ") +
                          kLabelValueRegexError));
  EXPECT_THAT(Validate({{"labels", {{"a", "-"}}}}, ""),
              ElementsAre(std::string("labels: Invalid value: \"-\": ") + kLabelValueRegexError));
}

// Keys that are not UTF-8 can only come from code, not from parsed JSON; the error must still
// be printable as JSON.
TEST(NamesTest, BadValuesStaySerializable) {
  nlohmann::json metadata;
  metadata["labels"][std::string("k\xff")] = std::string("v\xc3");
  FieldErrors errors;
  ValidateLabelsAndAnnotations(metadata, "metadata", errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].bad_value, "k\xEF\xBF\xBD");
  EXPECT_EQ(errors[1].bad_value, "v\xEF\xBF\xBD");
  for (const FieldError& error : errors) EXPECT_NO_THROW((void)error.ToString());
}

}  // namespace
}  // namespace vdisk::api
