#include "json/patch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace vdisk::json {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

Json J(std::string_view text) { return Json::parse(text); }

ListMergeStrategy MergeByKey(std::string key) {
  ListMergeStrategy strategy;
  strategy.merge = true;
  strategy.merge_key = std::move(key);
  return strategy;
}

ListMergeStrategy MergeAsSet() { return MergeByKey(""); }

// Field strategies of the Kubernetes types these tests patch.
std::optional<ListMergeStrategy> KubeStrategy(std::string_view path) {
  if (path == "status.conditions") return MergeByKey("type");
  if (path == "metadata.ownerReferences") return MergeByKey("uid");
  if (path == "metadata.finalizers") return MergeAsSet();
  if (path == "spec.containers") return MergeByKey("name");
  if (path == "spec.containers.ports") return MergeByKey("containerPort");
  return std::nullopt;
}

// Applies `patch` and expects success; the inputs must come back untouched.
Json JsonPatchOk(const Json& doc, const Json& patch) {
  const Json doc_before = doc;
  const Json patch_before = patch;
  Result<Json> result = ApplyJsonPatch(doc, patch);
  EXPECT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(doc, doc_before);
  EXPECT_EQ(patch, patch_before);
  return result.ok() ? *result : Json();
}

Status JsonPatchError(const Json& doc, const Json& patch) {
  Result<Json> result = ApplyJsonPatch(doc, patch);
  EXPECT_FALSE(result.ok()) << "unexpectedly produced " << result->dump();
  return result.ok() ? Status() : result.status();
}

Json StrategicOk(const Json& doc, const Json& patch) {
  const Json doc_before = doc;
  const Json patch_before = patch;
  Result<Json> result = ApplyStrategicMergePatch(doc, patch, KubeStrategy);
  EXPECT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(doc, doc_before);
  EXPECT_EQ(patch, patch_before);
  return result.ok() ? *result : Json();
}

Status StrategicError(const Json& doc, const Json& patch) {
  Result<Json> result = ApplyStrategicMergePatch(doc, patch, KubeStrategy);
  EXPECT_FALSE(result.ok()) << "unexpectedly produced " << result->dump();
  if (result.ok()) return Status();
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  return result.status();
}

// Builds {"a": {"a": ... 1 ...}} without recursion.
Json NestedObjects(int depth) {
  Json value = 1;
  for (int i = 0; i < depth; ++i) value = Json{{"a", std::move(value)}};
  return value;
}

// ---------------------------------------------------------------------------------------------
// JSON Patch: add

TEST(JsonPatchAddTest, AddsObjectMember) {
  EXPECT_EQ(JsonPatchOk(J(R"({"a":1})"), J(R"([{"op":"add","path":"/b","value":2}])")),
            J(R"({"a":1,"b":2})"));
}

TEST(JsonPatchAddTest, ReplacesExistingMember) {
  EXPECT_EQ(JsonPatchOk(J(R"({"a":1})"), J(R"([{"op":"add","path":"/a","value":[1]}])")),
            J(R"({"a":[1]})"));
}

TEST(JsonPatchAddTest, InsertsIntoArrayBeforeIndex) {
  EXPECT_EQ(JsonPatchOk(J(R"({"a":[1,3]})"), J(R"([{"op":"add","path":"/a/1","value":2}])")),
            J(R"({"a":[1,2,3]})"));
}

TEST(JsonPatchAddTest, IndexEqualToSizeAppends) {
  EXPECT_EQ(JsonPatchOk(J(R"({"a":[1]})"), J(R"([{"op":"add","path":"/a/1","value":2}])")),
            J(R"({"a":[1,2]})"));
}

TEST(JsonPatchAddTest, DashAppends) {
  EXPECT_EQ(JsonPatchOk(J(R"({"a":[1]})"), J(R"([{"op":"add","path":"/a/-","value":2}])")),
            J(R"({"a":[1,2]})"));
}

TEST(JsonPatchAddTest, EmptyPathReplacesDocument) {
  EXPECT_EQ(JsonPatchOk(J(R"({"a":1})"), J(R"([{"op":"add","path":"","value":[true]}])")),
            J("[true]"));
}

TEST(JsonPatchAddTest, NullValueIsAValue) {
  EXPECT_EQ(JsonPatchOk(J("{}"), J(R"([{"op":"add","path":"/a","value":null}])")),
            J(R"({"a":null})"));
}

TEST(JsonPatchAddTest, RejectsIndexPastTheEnd) {
  Status status = JsonPatchError(J(R"({"a":[1]})"), J(R"([{"op":"add","path":"/a/2","value":0}])"));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("operation 0"), HasSubstr("\"/a/2\""), HasSubstr("out of bounds")));
}

TEST(JsonPatchAddTest, RejectsMalformedIndexes) {
  for (const char* index : {"01", "-1", "+1", "1a", "", "99999999999999999999999"}) {
    Json patch = {{{"op", "add"}, {"path", std::string("/a/") + index}, {"value", 0}}};
    EXPECT_EQ(JsonPatchError(J(R"({"a":[1,2]})"), patch).code(), StatusCode::kInvalidArgument)
        << index;
  }
}

TEST(JsonPatchAddTest, RejectsMissingParent) {
  Status status = JsonPatchError(J("{}"), J(R"([{"op":"add","path":"/a/b","value":0}])"));
  EXPECT_THAT(status.message(), HasSubstr("parent of \"/a/b\" does not exist"));
}

TEST(JsonPatchAddTest, RejectsScalarParent) {
  Status status = JsonPatchError(J(R"({"a":1})"), J(R"([{"op":"add","path":"/a/b","value":0}])"));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// JSON Patch: remove, replace

TEST(JsonPatchRemoveTest, RemovesMemberAndElement) {
  EXPECT_EQ(JsonPatchOk(J(R"({"a":1,"b":[1,2,3]})"),
                        J(R"([{"op":"remove","path":"/a"},{"op":"remove","path":"/b/1"}])")),
            J(R"({"b":[1,3]})"));
}

TEST(JsonPatchRemoveTest, RejectsMissingTargets) {
  const Json doc = J(R"({"a":{"b":1},"c":[1]})");
  for (const char* path : {"/x", "/a/x", "/a/b/c", "/c/1", "/c/-", "/x/y"}) {
    Json patch = {{{"op", "remove"}, {"path", path}}};
    Status status = JsonPatchError(doc, patch);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << path;
    EXPECT_THAT(status.message(), HasSubstr(path));
  }
}

TEST(JsonPatchRemoveTest, RejectsRemovingTheRoot) {
  EXPECT_EQ(JsonPatchError(J("{}"), J(R"([{"op":"remove","path":""}])")).code(),
            StatusCode::kInvalidArgument);
}

TEST(JsonPatchReplaceTest, ReplacesValues) {
  EXPECT_EQ(
      JsonPatchOk(J(R"({"a":1,"b":[1,2]})"), J(R"([{"op":"replace","path":"/a","value":{"x":1}},
                              {"op":"replace","path":"/b/0","value":9}])")),
      J(R"({"a":{"x":1},"b":[9,2]})"));
}

TEST(JsonPatchReplaceTest, EmptyPathReplacesDocument) {
  EXPECT_EQ(JsonPatchOk(J(R"({"a":1})"), J(R"([{"op":"replace","path":"","value":3}])")), J("3"));
}

TEST(JsonPatchReplaceTest, RejectsMissingTarget) {
  Status status =
      JsonPatchError(J(R"({"a":[1]})"), J(R"([{"op":"replace","path":"/a/1","value":2}])"));
  EXPECT_THAT(status.message(), HasSubstr("\"/a/1\" does not exist"));
  EXPECT_EQ(JsonPatchError(J("{}"), J(R"([{"op":"replace","path":"/a","value":2}])")).code(),
            StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// JSON Patch: move, copy

TEST(JsonPatchMoveTest, MovesBetweenObjects) {
  EXPECT_EQ(JsonPatchOk(J(R"({"a":{"x":1},"b":{}})"),
                        J(R"([{"op":"move","from":"/a/x","path":"/b/y"}])")),
            J(R"({"a":{},"b":{"y":1}})"));
}

TEST(JsonPatchMoveTest, ReordersArrayElements) {
  // RFC 6902 A.7: the target index is interpreted after the removal.
  EXPECT_EQ(
      JsonPatchOk(J(R"({"a":[1,2,3,4]})"), J(R"([{"op":"move","from":"/a/1","path":"/a/3"}])")),
      J(R"({"a":[1,3,4,2]})"));
}

TEST(JsonPatchMoveTest, MovingToItselfChangesNothing) {
  EXPECT_EQ(JsonPatchOk(J(R"({"a":[1,2]})"), J(R"([{"op":"move","from":"/a/0","path":"/a/0"}])")),
            J(R"({"a":[1,2]})"));
}

TEST(JsonPatchMoveTest, RejectsMovingIntoOwnChild) {
  Status status =
      JsonPatchError(J(R"({"a":{"b":{}}})"), J(R"([{"op":"move","from":"/a","path":"/a/b/c"}])"));
  EXPECT_THAT(status.message(), HasSubstr("own child"));
}

TEST(JsonPatchMoveTest, RejectsMissingSource) {
  Status status = JsonPatchError(J("{}"), J(R"([{"op":"move","from":"/x","path":"/y"}])"));
  EXPECT_THAT(status.message(), HasSubstr("\"/x\" does not exist"));
}

TEST(JsonPatchCopyTest, CopiesValue) {
  EXPECT_EQ(
      JsonPatchOk(J(R"({"a":{"x":[1]},"b":[0]})"), J(R"([{"op":"copy","from":"/a/x","path":"/b/0"},
                              {"op":"copy","from":"/a","path":"/a/y"}])")),
      J(R"({"a":{"x":[1],"y":{"x":[1]}},"b":[[1],0]})"));
}

TEST(JsonPatchCopyTest, RejectsMissingSource) {
  EXPECT_EQ(JsonPatchError(J("{}"), J(R"([{"op":"copy","from":"/x","path":"/y"}])")).code(),
            StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// JSON Patch: test

TEST(JsonPatchTestOpTest, PassingTestLetsThePatchProceed) {
  EXPECT_EQ(JsonPatchOk(J(R"({"a":{"b":[1,"x"]}})"),
                        J(R"([{"op":"test","path":"/a","value":{"b":[1,"x"]}},
                              {"op":"test","path":"/a/b/0","value":1.0},
                              {"op":"add","path":"/c","value":true}])")),
            J(R"({"a":{"b":[1,"x"]},"c":true})"));
}

TEST(JsonPatchTestOpTest, FailedTestIsInvalid) {
  Status status = JsonPatchError(J(R"({"a":1})"), J(R"([{"op":"add","path":"/b","value":1},
                                       {"op":"test","path":"/a","value":2}])"));
  EXPECT_EQ(status.code(), StatusCode::kInvalid);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("operation 1"), HasSubstr("\"/a\""), HasSubstr("test failed")));
}

TEST(JsonPatchTestOpTest, TestOfMissingPathIsInvalid) {
  EXPECT_EQ(JsonPatchError(J("{}"), J(R"([{"op":"test","path":"/a","value":null}])")).code(),
            StatusCode::kInvalid);
}

TEST(JsonPatchTestOpTest, TypesMustMatch) {
  EXPECT_EQ(JsonPatchError(J(R"({"a":"1"})"), J(R"([{"op":"test","path":"/a","value":1}])")).code(),
            StatusCode::kInvalid);
}

// ---------------------------------------------------------------------------------------------
// JSON Patch: pointers and malformed patches

TEST(JsonPatchPointerTest, UnescapesTildeAndSlash) {
  const Json doc = J(R"({"a/b":1,"m~n":2,"~1":3})");
  EXPECT_EQ(JsonPatchOk(doc, J(R"([{"op":"test","path":"/a~1b","value":1},
                                   {"op":"test","path":"/m~0n","value":2},
                                   {"op":"remove","path":"/~01"},
                                   {"op":"add","path":"/x~1y~0z","value":4}])")),
            J(R"({"a/b":1,"m~n":2,"x/y~z":4})"));
}

TEST(JsonPatchPointerTest, EmptyTokenNamesTheEmptyKey) {
  EXPECT_EQ(JsonPatchOk(J(R"({"":{"":1}})"), J(R"([{"op":"replace","path":"//","value":2}])")),
            J(R"({"":{"":2}})"));
}

TEST(JsonPatchPointerTest, RejectsBadPointers) {
  for (const char* path : {"a", "/a~", "/a~2", "/~x"}) {
    Json patch = {{{"op", "add"}, {"path", path}, {"value", 0}}};
    Status status = JsonPatchError(J("{}"), patch);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << path;
    EXPECT_THAT(status.message(), HasSubstr("not a valid JSON pointer")) << path;
  }
}

TEST(JsonPatchMalformedTest, PatchMustBeAnArray) {
  for (const char* patch : {R"({"op":"add"})", "null", "1", R"("[]")"}) {
    EXPECT_EQ(JsonPatchError(J("{}"), J(patch)).code(), StatusCode::kInvalidArgument) << patch;
  }
}

TEST(JsonPatchMalformedTest, NamesTheOperationAndWhatIsWrong) {
  struct Case {
    const char* patch;
    const char* message;
  };
  const Case cases[] = {
      {R"([1])", "operation 0 (? without a path): an operation must be a JSON object"},
      {R"([{"path":"/a"}])", "operation 0 (? \"/a\"): missing \"op\""},
      {R"([{"op":7,"path":"/a"}])", "\"op\" must be a string"},
      {R"([{"op":"frob","path":"/a"}])", "operation 0 (frob \"/a\"): unknown op \"frob\""},
      {R"([{"op":"remove"}])", "operation 0 (remove without a path): missing \"path\""},
      {R"([{"op":"remove","path":3}])", "\"path\" must be a string"},
      {R"([{"op":"add","path":"/a"}])", "operation 0 (add \"/a\"): missing \"value\""},
      {R"([{"op":"replace","path":"/a"}])", "missing \"value\""},
      {R"([{"op":"test","path":"/a"}])", "missing \"value\""},
      {R"([{"op":"move","path":"/a"}])", "missing \"from\""},
      {R"([{"op":"copy","path":"/a","from":1}])", "\"from\" must be a string"},
      {R"([{"op":"test","path":"/a","value":1},{"op":"add","path":"/a/b/c","value":1}])",
       "operation 1 (add \"/a/b/c\")"},
  };
  for (const Case& c : cases) {
    Status status = JsonPatchError(J(R"({"a":1})"), J(c.patch));
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.patch;
    EXPECT_THAT(status.message(), HasSubstr(c.message)) << c.patch;
    EXPECT_THAT(status.message(), HasSubstr("json patch: ")) << c.patch;
  }
}

TEST(JsonPatchMalformedTest, IgnoresUnknownMembers) {
  EXPECT_EQ(JsonPatchOk(J("{}"), J(R"([{"op":"add","path":"/a","value":1,"extra":2}])")),
            J(R"({"a":1})"));
}

TEST(JsonPatchTest, AppliesOperationsInSequence) {
  EXPECT_EQ(JsonPatchOk(J("{}"), J(R"([{"op":"add","path":"/a","value":[]},
                                       {"op":"add","path":"/a/-","value":1},
                                       {"op":"add","path":"/a/0","value":0},
                                       {"op":"copy","from":"/a","path":"/b"},
                                       {"op":"remove","path":"/a/1"}])")),
            J(R"({"a":[0],"b":[0,1]})"));
}

TEST(JsonPatchTest, EmptyPatchReturnsTheDocument) {
  EXPECT_EQ(JsonPatchOk(J(R"({"a":1})"), J("[]")), J(R"({"a":1})"));
}

TEST(JsonPatchTest, FailureLeavesTheInputUntouched) {
  const Json doc = J(R"({"a":1})");
  const Json patch = J(R"([{"op":"remove","path":"/a"},{"op":"remove","path":"/a"}])");
  EXPECT_FALSE(ApplyJsonPatch(doc, patch).ok());
  EXPECT_EQ(doc, J(R"({"a":1})"));
}

TEST(JsonPatchTest, Rfc6902AppendixExamples) {
  // A.1, A.2, A.4, A.5, A.6 and A.16 of RFC 6902.
  EXPECT_EQ(JsonPatchOk(J(R"({"foo":"bar"})"), J(R"([{"op":"add","path":"/baz","value":"qux"}])")),
            J(R"({"baz":"qux","foo":"bar"})"));
  EXPECT_EQ(JsonPatchOk(J(R"({"foo":["bar","baz"]})"),
                        J(R"([{"op":"add","path":"/foo/1","value":"qux"}])")),
            J(R"({"foo":["bar","qux","baz"]})"));
  EXPECT_EQ(
      JsonPatchOk(J(R"({"foo":["bar","qux","baz"]})"), J(R"([{"op":"remove","path":"/foo/1"}])")),
      J(R"({"foo":["bar","baz"]})"));
  EXPECT_EQ(JsonPatchOk(J(R"({"baz":"qux","foo":"bar"})"),
                        J(R"([{"op":"replace","path":"/baz","value":"boo"}])")),
            J(R"({"baz":"boo","foo":"bar"})"));
  EXPECT_EQ(JsonPatchOk(J(R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})"),
                        J(R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])")),
            J(R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})"));
  EXPECT_EQ(JsonPatchOk(J(R"({"foo":["bar"]})"),
                        J(R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])")),
            J(R"({"foo":["bar",["abc","def"]]})"));
  // A.12: adding to a nonexistent target.
  EXPECT_EQ(
      JsonPatchError(J(R"({"foo":"bar"})"), J(R"([{"op":"add","path":"/baz/bat","value":"qux"}])"))
          .code(),
      StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// JSON Merge Patch (RFC 7386)

TEST(MergePatchTest, Rfc7386AppendixExamples) {
  struct Case {
    const char* doc;
    const char* patch;
    const char* result;
  };
  const Case cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", "null", "null"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const Case& c : cases) {
    const Json doc = J(c.doc);
    const Json patch = J(c.patch);
    Result<Json> result = ApplyMergePatch(doc, patch);
    ASSERT_TRUE(result.ok()) << c.patch;
    EXPECT_EQ(*result, J(c.result)) << c.doc << " + " << c.patch;
    EXPECT_EQ(doc, J(c.doc));
    EXPECT_EQ(patch, J(c.patch));
  }
}

TEST(MergePatchTest, MergesNestedObjectsAndReplacesLists) {
  Result<Json> result =
      ApplyMergePatch(J(R"({"metadata":{"labels":{"a":"1","b":"2"}},"spec":{"l":[1,2]}})"),
                      J(R"({"metadata":{"labels":{"a":null,"c":"3"}},"spec":{"l":[3]}})"));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, J(R"({"metadata":{"labels":{"b":"2","c":"3"}},"spec":{"l":[3]}})"));
}

TEST(MergePatchTest, RejectsPatchesNestedTooDeeply) {
  Result<Json> result = ApplyMergePatch(J("{}"), NestedObjects(5000));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(ApplyMergePatch(J("{}"), NestedObjects(101)).ok());
  EXPECT_TRUE(ApplyMergePatch(J("{}"), NestedObjects(90)).ok());
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch: maps and plain fields

TEST(StrategicMergeTest, MergesMapsRecursivelyAndNullDeletes) {
  EXPECT_EQ(
      StrategicOk(J(R"({"metadata":{"name":"d","labels":{"a":"1","b":"2"}},"spec":{"x":1}})"),
                  J(R"({"metadata":{"labels":{"a":null,"c":"3"}},"spec":null,"new":{"k":1}})")),
      J(R"({"metadata":{"name":"d","labels":{"b":"2","c":"3"}},"new":{"k":1}})"));
}

TEST(StrategicMergeTest, ReplacesScalarsAndValuesOfAnotherType) {
  EXPECT_EQ(StrategicOk(J(R"({"a":1,"b":{"x":1},"c":[1],"d":"s"})"),
                        J(R"({"a":"one","b":[2],"c":{"y":2},"d":{"z":null,"w":1}})")),
            J(R"({"a":"one","b":[2],"c":{"y":2},"d":{"w":1}})"));
}

TEST(StrategicMergeTest, NullDocumentIsAnEmptyObject) {
  EXPECT_EQ(StrategicOk(Json(), J(R"({"a":1})")), J(R"({"a":1})"));
}

TEST(StrategicMergeTest, ListsWithoutStrategyAreReplaced) {
  EXPECT_EQ(StrategicOk(J(R"({"spec":{"args":["a","b"],"items":[{"type":"x"}]}})"),
                        J(R"({"spec":{"args":["c"],"items":[{"type":"y","n":null}]}})")),
            J(R"({"spec":{"args":["c"],"items":[{"type":"y"}]}})"));
}

TEST(StrategicMergeTest, EmptyStrategyFunctionReplacesEveryList) {
  Result<Json> result = ApplyStrategicMergePatch(J(R"({"metadata":{"finalizers":["a"]}})"),
                                                 J(R"({"metadata":{"finalizers":["b"]}})"), {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, J(R"({"metadata":{"finalizers":["b"]}})"));
}

TEST(StrategicMergeTest, AsksForFieldPathsWithoutListIndexes) {
  std::vector<std::string> asked;
  auto strategy = [&](std::string_view path) -> std::optional<ListMergeStrategy> {
    asked.emplace_back(path);
    return KubeStrategy(path);
  };
  Result<Json> result = ApplyStrategicMergePatch(
      J(R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":1}]}]}})"),
      J(R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":2}]}]}})"), strategy);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_THAT(asked, ::testing::ElementsAre("spec.containers", "spec.containers.ports"));
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch: lists merged by key

const char kConditions[] = R"({"status":{"conditions":[
    {"type":"Ready","status":"False","reason":"Pending"},
    {"type":"Bound","status":"True"}]}})";

TEST(StrategicMergeTest, MergesConditionsByType) {
  EXPECT_EQ(
      StrategicOk(J(kConditions), J(R"({"status":{"conditions":[{"type":"Ready","status":"True",
                                                       "reason":null}]}})")),
      J(R"({"status":{"conditions":[{"type":"Ready","status":"True"},
                                          {"type":"Bound","status":"True"}]}})"));
}

TEST(StrategicMergeTest, NewConditionGoesBeforeConditionsThePatchDoesNotName) {
  // kube-apiserver places an element new to the list ahead of the live elements the patch leaves
  // out; one the patch names after an existing element follows that element.
  EXPECT_EQ(StrategicOk(J(kConditions),
                        J(R"({"status":{"conditions":[{"type":"Resized","status":"True"}]}})")),
            J(R"({"status":{"conditions":[{"type":"Resized","status":"True"},
                                          {"type":"Ready","status":"False","reason":"Pending"},
                                          {"type":"Bound","status":"True"}]}})"));
  EXPECT_EQ(StrategicOk(J(kConditions),
                        J(R"({"status":{"conditions":[{"type":"Bound"},{"type":"Resized"}]}})")),
            J(R"({"status":{"conditions":[{"type":"Ready","status":"False","reason":"Pending"},
                                          {"type":"Bound","status":"True"},
                                          {"type":"Resized"}]}})"));
}

TEST(StrategicMergeTest, PatchOrderWinsForTheElementsItNames) {
  // Upstream's "preserve the order from the patch in a merging list" cases.
  const Json doc =
      J(R"({"status":{"conditions":[{"type":"1"},{"type":"2","v":"b"},{"type":"3"}]}})");
  EXPECT_EQ(
      StrategicOk(doc, J(R"({"status":{"conditions":[{"type":"3","v":"c"},{"type":"1","v":"a"},
                                                           {"type":"2","o":"x"}]}})")),
      J(R"({"status":{"conditions":[{"type":"3","v":"c"},{"type":"1","v":"a"},
                                          {"type":"2","v":"b","o":"x"}]}})"));
  EXPECT_EQ(StrategicOk(doc, J(R"({"status":{"conditions":[{"type":"3","v":"c"},
                                                           {"type":"1","v":"a"}]}})")),
            J(R"({"status":{"conditions":[{"type":"2","v":"b"},{"type":"3","v":"c"},
                                          {"type":"1","v":"a"}]}})"));
}

TEST(StrategicMergeTest, DeletesConditionWithPatchDelete) {
  EXPECT_EQ(StrategicOk(J(kConditions), J(R"({"status":{"conditions":[
                                             {"$patch":"delete","type":"Ready"},
                                             {"$patch":"delete","type":"Missing"}]}})")),
            J(R"({"status":{"conditions":[{"type":"Bound","status":"True"}]}})"));
}

TEST(StrategicMergeTest, DeleteRemovesEveryDuplicate) {
  EXPECT_EQ(
      StrategicOk(J(R"({"status":{"conditions":[{"type":"A"},{"type":"A","x":1},{"type":"B"}]}})"),
                  J(R"({"status":{"conditions":[{"type":"A","$patch":"delete"}]}})")),
      J(R"({"status":{"conditions":[{"type":"B"}]}})"));
}

TEST(StrategicMergeTest, PatchReplaceElementReplacesTheWholeList) {
  EXPECT_EQ(StrategicOk(J(kConditions), J(R"({"status":{"conditions":[
                                             {"$patch":"replace"},
                                             {"type":"Only","gone":null}]}})")),
            J(R"({"status":{"conditions":[{"type":"Only"}]}})"));
  EXPECT_EQ(StrategicOk(J(kConditions), J(R"({"status":{"conditions":[{"$patch":"replace"}]}})")),
            J(R"({"status":{"conditions":[]}})"));
}

TEST(StrategicMergeTest, MergesOwnerReferencesByUid) {
  const Json doc = J(R"({"metadata":{"ownerReferences":[
      {"uid":"u1","kind":"VirtualDisk","name":"a","controller":true},
      {"uid":"u2","kind":"Snapshot","name":"b"}]}})");
  EXPECT_EQ(StrategicOk(doc, J(R"({"metadata":{"ownerReferences":[
                                   {"uid":"u1","controller":null,"blockOwnerDeletion":true},
                                   {"uid":"u2","$patch":"delete"}]}})")),
            J(R"({"metadata":{"ownerReferences":[
                {"uid":"u1","kind":"VirtualDisk","name":"a","blockOwnerDeletion":true}]}})"));
}

TEST(StrategicMergeTest, MergesNestedKeyedLists) {
  EXPECT_EQ(StrategicOk(J(R"({"spec":{"containers":[
                              {"name":"a","image":"i1","ports":[{"containerPort":80}]},
                              {"name":"b","image":"i2"}]}})"),
                        J(R"({"spec":{"containers":[
                              {"name":"a","ports":[{"containerPort":80,"protocol":"TCP"},
                                                   {"containerPort":443}]}]}})")),
            J(R"({"spec":{"containers":[
                  {"name":"a","image":"i1","ports":[{"containerPort":80,"protocol":"TCP"},
                                                    {"containerPort":443}]},
                  {"name":"b","image":"i2"}]}})"));
}

TEST(StrategicMergeTest, KeyedListIsCreatedWhenMissing) {
  EXPECT_EQ(StrategicOk(J("{}"), J(R"({"status":{"conditions":[
                                     {"type":"A","x":null},{"type":"B","$patch":"delete"}]}})")),
            J(R"({"status":{"conditions":[{"type":"A"}]}})"));
}

TEST(StrategicMergeTest, KeyedListErrors) {
  EXPECT_THAT(StrategicError(J(kConditions), J(R"({"status":{"conditions":[{"status":"True"}]}})"))
                  .message(),
              HasSubstr("status.conditions: element 0 of the patch has no merge key \"type\""));
  EXPECT_THAT(StrategicError(J(kConditions), J(R"({"status":{"conditions":["Ready"]}})")).message(),
              HasSubstr("status.conditions: element 0 of the patch is not an object"));
  EXPECT_THAT(
      StrategicError(J(kConditions), J(R"({"status":{"conditions":[{"$patch":"delete"}]}})"))
          .message(),
      HasSubstr("no merge key"));
  EXPECT_THAT(StrategicError(J(kConditions),
                             J(R"({"status":{"conditions":[{"type":"A","$patch":"merge"}]}})"))
                  .message(),
              HasSubstr("unsupported $patch directive \"merge\""));
  EXPECT_THAT(StrategicError(J(R"({"status":{"conditions":["x"]}})"),
                             J(R"({"status":{"conditions":[{"type":"A"}]}})"))
                  .message(),
              HasSubstr("element 0 of the live list is not an object"));
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch: lists of primitives

TEST(StrategicMergeTest, MergesFinalizersAsASet) {
  const Json doc = J(R"({"metadata":{"finalizers":["a","b"]}})");
  EXPECT_EQ(StrategicOk(doc, J(R"({"metadata":{"finalizers":["b","c","c"]}})")),
            J(R"({"metadata":{"finalizers":["a","b","c"]}})"));
  EXPECT_EQ(StrategicOk(doc, J(R"({"metadata":{"finalizers":["c"]}})")),
            J(R"({"metadata":{"finalizers":["c","a","b"]}})"));
  EXPECT_EQ(StrategicOk(doc, J(R"({"metadata":{"finalizers":[]}})")), doc);
}

TEST(StrategicMergeTest, DeletesFromPrimitiveList) {
  const Json doc = J(R"({"metadata":{"finalizers":["a","b","c"]},"spec":{"args":[1,2,1]}})");
  EXPECT_EQ(StrategicOk(doc, J(R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["b","x"]},
                                   "spec":{"$deleteFromPrimitiveList/args":[1]}})")),
            J(R"({"metadata":{"finalizers":["a","c"]},"spec":{"args":[2]}})"));
}

TEST(StrategicMergeTest, DeleteFromPrimitiveListDoesNotCreateTheList) {
  EXPECT_EQ(StrategicOk(J(R"({"metadata":{}})"),
                        J(R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}})")),
            J(R"({"metadata":{}})"));
}

TEST(StrategicMergeTest, DeletionAndAdditionInOnePatch) {
  EXPECT_EQ(StrategicOk(J(R"({"metadata":{"finalizers":["a","b"]}})"),
                        J(R"({"metadata":{"finalizers":["c"],
                                          "$deleteFromPrimitiveList/finalizers":["a"]}})")),
            J(R"({"metadata":{"finalizers":["c","b"]}})"));
}

TEST(StrategicMergeTest, PrimitiveListErrors) {
  EXPECT_THAT(StrategicError(J(R"({"metadata":{"finalizers":["a"]}})"),
                             J(R"({"metadata":{"finalizers":[{"a":1}]}})"))
                  .message(),
              HasSubstr("metadata.finalizers: a list merged as a set may only hold primitive"));
  EXPECT_THAT(StrategicError(J("{}"), J(R"({"$deleteFromPrimitiveList/x":"a"})")).message(),
              HasSubstr("$deleteFromPrimitiveList/x: must be a list"));
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch: $patch on maps

TEST(StrategicMergeTest, PatchReplaceOnMapReplacesIt) {
  EXPECT_EQ(StrategicOk(J(R"({"spec":{"a":1,"b":{"c":2}}})"),
                        J(R"({"spec":{"$patch":"replace","b":{"d":3},"e":null}})")),
            J(R"({"spec":{"b":{"d":3}}})"));
  EXPECT_EQ(StrategicOk(J(R"({"a":1,"b":2})"), J(R"({"$patch":"replace","c":3})")),
            J(R"({"c":3})"));
}

TEST(StrategicMergeTest, PatchReplaceOnMissingMapCreatesIt) {
  EXPECT_EQ(StrategicOk(J("{}"), J(R"({"spec":{"$patch":"replace","a":1}})")),
            J(R"({"spec":{"a":1}})"));
}

TEST(StrategicMergeTest, PatchDeleteOnMapEmptiesIt) {
  // As upstream: an existing map becomes empty; a missing one is not created.
  EXPECT_EQ(StrategicOk(J(R"({"spec":{"a":1},"x":1})"),
                        J(R"({"spec":{"$patch":"delete"},"other":{"$patch":"delete"}})")),
            J(R"({"spec":{},"x":1})"));
  EXPECT_EQ(StrategicOk(J(R"({"a":1})"), J(R"({"$patch":"delete"})")), J("{}"));
}

TEST(StrategicMergeTest, PatchMergeOnMapIsTheDefault) {
  EXPECT_EQ(StrategicOk(J(R"({"spec":{"a":1}})"), J(R"({"spec":{"$patch":"merge","b":2}})")),
            J(R"({"spec":{"a":1,"b":2}})"));
}

TEST(StrategicMergeTest, RejectsUnknownPatchValue) {
  EXPECT_THAT(StrategicError(J("{}"), J(R"({"spec":{"$patch":"frob"}})")).message(),
              HasSubstr("spec: unsupported $patch directive \"frob\""));
  EXPECT_EQ(StrategicError(J("{}"), J(R"({"$patch":1})")).code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch: $retainKeys

TEST(StrategicMergeTest, RetainKeysClearsUnlistedFields) {
  EXPECT_EQ(StrategicOk(J(R"({"spec":{"source":{"http":{"url":"u"},"size":1,"keep":true}}})"),
                        J(R"({"spec":{"source":{"$retainKeys":["keep","registry"],
                                                "registry":{"image":"i"},"http":null}}})")),
            J(R"({"spec":{"source":{"keep":true,"registry":{"image":"i"}}}})"));
}

TEST(StrategicMergeTest, RetainKeysMustListWhatThePatchSets) {
  EXPECT_THAT(
      StrategicError(J(R"({"spec":{}})"), J(R"({"spec":{"$retainKeys":["a"],"a":1,"b":2}})"))
          .message(),
      HasSubstr("spec.$retainKeys: does not list the field \"b\""));
  EXPECT_THAT(StrategicError(J("{}"), J(R"({"$retainKeys":"a"})")).message(),
              HasSubstr("$retainKeys: must be a list of field names"));
  EXPECT_EQ(StrategicError(J("{}"), J(R"({"$retainKeys":[1]})")).code(),
            StatusCode::kInvalidArgument);
}

TEST(StrategicMergeTest, RetainKeysWorksInsideKeyedListElements) {
  EXPECT_EQ(
      StrategicOk(J(R"({"status":{"conditions":[{"type":"A","x":1,"y":2}]}})"),
                  J(R"({"status":{"conditions":[{"type":"A","$retainKeys":["type","y"]}]}})")),
      J(R"({"status":{"conditions":[{"type":"A","y":2}]}})"));
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch: $setElementOrder

TEST(StrategicMergeTest, SetElementOrderReordersAKeyedList) {
  EXPECT_EQ(
      StrategicOk(J(kConditions), J(R"({"status":{"$setElementOrder/conditions":[{"type":"Bound"},
                                                                       {"type":"Ready"}]}})")),
      J(R"({"status":{"conditions":[{"type":"Bound","status":"True"},
                                          {"type":"Ready","status":"False","reason":"Pending"}]}})"));
}

TEST(StrategicMergeTest, SetElementOrderPlacesNewElements) {
  // Upstream's "add an item in a list and preserve order" case.
  EXPECT_EQ(StrategicOk(J(R"({"status":{"conditions":[{"type":"1","o":"a"},{"type":"2","v":2}]}})"),
                        J(R"({"status":{"$setElementOrder/conditions":[{"type":"1"},{"type":"3"},
                                                                       {"type":"2"}],
                                        "conditions":[{"type":"3","v":3}]}})")),
            J(R"({"status":{"conditions":[{"type":"1","o":"a"},{"type":"3","v":3},
                                          {"type":"2","v":2}]}})"));
}

TEST(StrategicMergeTest, SetElementOrderKeepsServerOnlyElementsInPlace) {
  // Upstream's "set elements order in a list with server-only items 2" case.
  EXPECT_EQ(StrategicOk(J(R"({"status":{"conditions":[{"type":"1"},{"type":"2"},{"type":"9"},
                                                      {"type":"3"},{"type":"4"}]}})"),
                        J(R"({"status":{"$setElementOrder/conditions":[{"type":"2"},{"type":"1"},
                                                                       {"type":"4"},
                                                                       {"type":"3"}]}})")),
            J(R"({"status":{"conditions":[{"type":"2"},{"type":"1"},{"type":"9"},{"type":"4"},
                                          {"type":"3"}]}})"));
}

TEST(StrategicMergeTest, SetElementOrderDoesNotAddElements) {
  EXPECT_EQ(StrategicOk(J(R"({"metadata":{"finalizers":["a","c"]}})"),
                        J(R"({"metadata":{"$setElementOrder/finalizers":["c","b","a"]}})")),
            J(R"({"metadata":{"finalizers":["c","a"]}})"));
  EXPECT_EQ(StrategicOk(J("{}"), J(R"({"$setElementOrder/x":[1,2]})")), J("{}"));
}

TEST(StrategicMergeTest, SetElementOrderWithPrimitiveListAndDeletion) {
  // Upstream's "delete an item in a list of primitives and preserve order" case.
  EXPECT_EQ(StrategicOk(J(R"({"metadata":{"finalizers":["1","2","3"]}})"),
                        J(R"({"metadata":{"$setElementOrder/finalizers":["2","1"],
                                          "$deleteFromPrimitiveList/finalizers":["3"]}})")),
            J(R"({"metadata":{"finalizers":["2","1"]}})"));
}

TEST(StrategicMergeTest, SetElementOrderOnAReplacedList) {
  EXPECT_EQ(StrategicOk(J(R"({"spec":{"args":["a","b"]}})"),
                        J(R"({"spec":{"$setElementOrder/args":["b","a"]}})")),
            J(R"({"spec":{"args":["b","a"]}})"));
  EXPECT_EQ(StrategicOk(J(R"({"spec":{"args":["a","b"]}})"),
                        J(R"({"spec":{"$setElementOrder/args":["y","x"],"args":["y","x"]}})")),
            J(R"({"spec":{"args":["y","x"]}})"));
}

TEST(StrategicMergeTest, SetElementOrderMustCoverThePatchList) {
  EXPECT_THAT(
      StrategicError(J(kConditions),
                     J(R"({"status":{"$setElementOrder/conditions":[{"type":"Ready"},
                                                                    {"type":"Bound"}],
                                     "conditions":[{"type":"Bound"},{"type":"Ready"}]}})"))
          .message(),
      HasSubstr("status.$setElementOrder/conditions: does not list element 1 of the patch list"));
  EXPECT_EQ(StrategicError(J(kConditions),
                           J(R"({"status":{"$setElementOrder/conditions":[{"type":"Ready"}],
                                           "conditions":[{"type":"New"}]}})"))
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(StrategicMergeTest, SetElementOrderErrors) {
  EXPECT_THAT(StrategicError(J(kConditions), J(R"({"status":{"$setElementOrder/conditions":{}}})"))
                  .message(),
              HasSubstr("status.$setElementOrder/conditions: must be a list"));
  EXPECT_THAT(
      StrategicError(J(kConditions), J(R"({"status":{"$setElementOrder/conditions":["Ready"]}})"))
          .message(),
      HasSubstr("element 0 has no merge key \"type\""));
  EXPECT_THAT(StrategicError(J(kConditions),
                             J(R"({"status":{"$setElementOrder/conditions":[{"type":"Ready"}],
                                             "conditions":null}})"))
                  .message(),
              HasSubstr("status.conditions: must be a list"));
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch: malformed patches

TEST(StrategicMergeTest, RejectsUnknownDirectives) {
  for (const char* patch :
       {R"({"$foo":1})", R"({"spec":{"$deleteFromPrimitiveList":["a"]}})",
        R"({"spec":{"$setElementOrder/":[]}})",
        R"({"status":{"conditions":[{"type":"A","$x":1}]}})", R"({"new":{"$bogus":true}})"}) {
    EXPECT_THAT(StrategicError(J("{}"), J(patch)).message(), HasSubstr("unknown patch directive"))
        << patch;
  }
  EXPECT_THAT(StrategicError(J("{}"), J(R"({"spec":{"$foo":1}})")).message(),
              HasSubstr("spec.$foo: unknown patch directive"));
}

TEST(StrategicMergeTest, RejectsNonObjects) {
  EXPECT_THAT(StrategicError(J("{}"), J("[1]")).message(), HasSubstr("must be a JSON object"));
  EXPECT_THAT(StrategicError(J("[1]"), J("{}")).message(), HasSubstr("must be a JSON object"));
}

TEST(StrategicMergeTest, RejectsPatchesNestedTooDeeply) {
  EXPECT_THAT(StrategicError(J("{}"), NestedObjects(5000)).message(),
              HasSubstr("nested too deeply"));
  EXPECT_THAT(StrategicError(J("{}"), NestedObjects(101)).message(),
              HasSubstr("nested too deeply"));
  const Json deep = NestedObjects(90);
  EXPECT_EQ(StrategicOk(deep, deep), deep);
  EXPECT_EQ(StrategicOk(J("{}"), deep), deep);
}

// ---------------------------------------------------------------------------------------------
// Robustness: random patches never throw and never touch their inputs.

class RandomJson {
 public:
  explicit RandomJson(uint32_t seed) : rng_(seed) {}

  size_t Below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& choices) {
    return choices[Below(choices.size())];
  }

  std::string Key() {
    static const std::vector<std::string> kKeys = {"a",
                                                   "b",
                                                   "type",
                                                   "uid",
                                                   "name",
                                                   "conditions",
                                                   "finalizers",
                                                   "status",
                                                   "metadata",
                                                   "$patch",
                                                   "$retainKeys",
                                                   "$setElementOrder/conditions",
                                                   "$setElementOrder/a",
                                                   "$deleteFromPrimitiveList/finalizers",
                                                   "$deleteFromPrimitiveList/a",
                                                   "$bogus",
                                                   "",
                                                   "~",
                                                   "/"};
    return Pick(kKeys);
  }

  Json Scalar() {
    switch (Below(6)) {
      case 0:
        return nullptr;
      case 1:
        return Below(2) == 0;
      case 2:
        return static_cast<int>(Below(5));
      case 3:
        return 1.5;
      default:
        return Pick(std::vector<std::string>{"delete", "replace", "merge", "a", "b", "x"});
    }
  }

  Json Value(int depth) {
    const size_t kind = depth <= 0 ? 0 : Below(4);
    if (kind == 0 || kind == 1) return Scalar();
    Json value = kind == 2 ? Json::object() : Json::array();
    const size_t size = Below(4);
    for (size_t i = 0; i < size; ++i) {
      if (kind == 2) {
        value[Key()] = Value(depth - 1);
      } else {
        value.push_back(Value(depth - 1));
      }
    }
    return value;
  }

  Json Object(int depth) {
    Json value = Json::object();
    const size_t size = Below(5);
    for (size_t i = 0; i < size; ++i) value[Key()] = Value(depth - 1);
    return value;
  }

  std::string Pointer() {
    static const std::vector<std::string> kTokens = {"a",  "b", "0",  "1", "-",  "01",  "~0",
                                                     "~1", "~", "~2", "",  "99", "type"};
    std::string pointer;
    const size_t size = Below(4);
    for (size_t i = 0; i < size; ++i) pointer += "/" + Pick(kTokens);
    return Below(20) == 0 ? "x" + pointer : pointer;
  }

  Json JsonPatch() {
    static const std::vector<std::string> kOps = {"add",  "remove", "replace", "move",
                                                  "copy", "test",   "frob"};
    Json patch = Json::array();
    const size_t size = Below(4);
    for (size_t i = 0; i < size; ++i) {
      Json op = Json::object();
      if (Below(10) != 0) op["op"] = Pick(kOps);
      if (Below(10) != 0) op["path"] = Pointer();
      if (Below(2) == 0) op["from"] = Pointer();
      if (Below(4) != 0) op["value"] = Value(2);
      if (Below(30) == 0) op = Value(1);
      patch.push_back(std::move(op));
    }
    return patch;
  }

 private:
  std::mt19937 rng_;
};

std::optional<ListMergeStrategy> RandomTestStrategy(std::string_view path) {
  if (path.ends_with("conditions")) return MergeByKey("type");
  if (path.ends_with("finalizers")) return MergeAsSet();
  if (path.ends_with("a")) return MergeByKey("name");
  return std::nullopt;
}

TEST(PatchRobustnessTest, RandomPatchesNeverThrowOrModifyInputs) {
  RandomJson random(20240607);
  int succeeded = 0;
  for (int i = 0; i < 3000; ++i) {
    const Json doc = random.Object(4);
    const Json doc_copy = doc;

    const Json json_patch = random.JsonPatch();
    EXPECT_NO_THROW({
      if (ApplyJsonPatch(doc, json_patch).ok()) ++succeeded;
    }) << json_patch.dump();

    const Json merge_patch = random.Below(10) == 0 ? random.Value(3) : random.Object(4);
    EXPECT_NO_THROW({
      if (ApplyMergePatch(doc, merge_patch).ok()) ++succeeded;
    }) << merge_patch.dump();

    const Json strategic_patch = random.Below(10) == 0 ? random.Value(3) : random.Object(4);
    const Json strategic_copy = strategic_patch;
    EXPECT_NO_THROW({
      Result<Json> result = ApplyStrategicMergePatch(doc, strategic_patch, RandomTestStrategy);
      if (result.ok()) {
        ++succeeded;
      } else {
        EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument)
            << result.status().message();
      }
    }) << doc.dump()
       << " + " << strategic_patch.dump();

    ASSERT_EQ(doc, doc_copy);
    ASSERT_EQ(strategic_patch, strategic_copy);
  }
  EXPECT_GT(succeeded, 1000);  // the generator must exercise the success paths too
}

}  // namespace
}  // namespace vdisk::json
