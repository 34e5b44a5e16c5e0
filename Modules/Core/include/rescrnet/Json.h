// A small JSON value with a parser and a writer. Core depends on LibTorch only, so it carries its own JSON for model
// file headers and Keras model configurations instead of pulling in a third-party library.
#ifndef rescrnet_Json_h
#define rescrnet_Json_h

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace rescrnet
{

class JsonError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

class Json
{
public:
  enum class Type
  {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object
  };
  using Array = std::vector<Json>;
  // Keys keep insertion order so written headers read naturally.
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool b);
  Json(int v);
  Json(int64_t v);
  Json(uint64_t v);
  Json(double v);
  Json(const char * s);
  Json(std::string s);
  Json(Array a);

  static Json
  object();
  static Json
  array();
  static Json
  parse(const std::string & text);

  Type
  type() const
  {
    return m_Type;
  }
  bool
  isNull() const
  {
    return m_Type == Type::Null;
  }
  bool
  isNumber() const
  {
    return m_Type == Type::Number;
  }
  bool
  isString() const
  {
    return m_Type == Type::String;
  }
  bool
  isArray() const
  {
    return m_Type == Type::Array;
  }
  bool
  isObject() const
  {
    return m_Type == Type::Object;
  }
  bool
  isBool() const
  {
    return m_Type == Type::Bool;
  }

  bool
  asBool() const;
  double
  asDouble() const;
  int64_t
  asInt() const;
  const std::string &
  asString() const;
  const Array &
  asArray() const;
  Array &
  asArray();
  const Object &
  asObject() const;

  // Object access. operator[] inserts a null member when absent; at() throws when absent.
  Json &
  operator[](const std::string & key);
  const Json &
  at(const std::string & key) const;
  bool
  contains(const std::string & key) const;
  const Json *
  find(const std::string & key) const;
  // Convenience getters with defaults.
  std::string
  value(const std::string & key, const std::string & fallback) const;
  double
  value(const std::string & key, double fallback) const;
  int64_t
  value(const std::string & key, int64_t fallback) const;
  bool
  value(const std::string & key, bool fallback) const;

  // Array access.
  void
  push_back(Json v);
  size_t
  size() const;
  const Json &
  operator[](size_t i) const;

  std::string
  dump(int indent = -1) const;

  bool
  operator==(const Json & other) const;
  bool
  operator!=(const Json & other) const
  {
    return !(*this == other);
  }

private:
  void
  dumpTo(std::string & out, int indent, int level) const;

  Type                    m_Type{ Type::Null };
  bool                    m_Bool{ false };
  double                  m_Number{ 0.0 };
  bool                    m_Integral{ false };
  std::string             m_String;
  std::shared_ptr<Array>  m_Array;
  std::shared_ptr<Object> m_Object;
};

} // namespace rescrnet

#endif
