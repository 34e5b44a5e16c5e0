#include "rescrnet/Json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace rescrnet
{

Json::Json(bool b)
  : m_Type(Type::Bool)
  , m_Bool(b)
{}
Json::Json(int v)
  : m_Type(Type::Number)
  , m_Number(v)
  , m_Integral(true)
{}
Json::Json(int64_t v)
  : m_Type(Type::Number)
  , m_Number(static_cast<double>(v))
  , m_Integral(true)
{}
Json::Json(uint64_t v)
  : m_Type(Type::Number)
  , m_Number(static_cast<double>(v))
  , m_Integral(true)
{}
Json::Json(double v)
  : m_Type(Type::Number)
  , m_Number(v)
{}
Json::Json(const char * s)
  : m_Type(Type::String)
  , m_String(s)
{}
Json::Json(std::string s)
  : m_Type(Type::String)
  , m_String(std::move(s))
{}
Json::Json(Array a)
  : m_Type(Type::Array)
  , m_Array(std::make_shared<Array>(std::move(a)))
{}

Json
Json::object()
{
  Json j;
  j.m_Type = Type::Object;
  j.m_Object = std::make_shared<Object>();
  return j;
}

Json
Json::array()
{
  return Json(Array{});
}

bool
Json::asBool() const
{
  if (m_Type != Type::Bool)
  {
    throw JsonError("JSON value is not a boolean");
  }
  return m_Bool;
}

double
Json::asDouble() const
{
  if (m_Type != Type::Number)
  {
    throw JsonError("JSON value is not a number");
  }
  return m_Number;
}

int64_t
Json::asInt() const
{
  const double v = asDouble();
  if (std::floor(v) != v)
  {
    throw JsonError("JSON number is not an integer: " + dump());
  }
  return static_cast<int64_t>(v);
}

const std::string &
Json::asString() const
{
  if (m_Type != Type::String)
  {
    throw JsonError("JSON value is not a string");
  }
  return m_String;
}

const Json::Array &
Json::asArray() const
{
  if (m_Type != Type::Array)
  {
    throw JsonError("JSON value is not an array");
  }
  return *m_Array;
}

Json::Array &
Json::asArray()
{
  if (m_Type != Type::Array)
  {
    throw JsonError("JSON value is not an array");
  }
  return *m_Array;
}

const Json::Object &
Json::asObject() const
{
  if (m_Type != Type::Object)
  {
    throw JsonError("JSON value is not an object");
  }
  return *m_Object;
}

Json &
Json::operator[](const std::string & key)
{
  if (m_Type == Type::Null)
  {
    *this = object();
  }
  if (m_Type != Type::Object)
  {
    throw JsonError("JSON value is not an object (key '" + key + "')");
  }
  if (m_Object.use_count() > 1)
  {
    m_Object = std::make_shared<Object>(*m_Object);
  }
  for (auto & kv : *m_Object)
  {
    if (kv.first == key)
    {
      return kv.second;
    }
  }
  m_Object->emplace_back(key, Json());
  return m_Object->back().second;
}

const Json *
Json::find(const std::string & key) const
{
  if (m_Type != Type::Object)
  {
    return nullptr;
  }
  for (const auto & kv : *m_Object)
  {
    if (kv.first == key)
    {
      return &kv.second;
    }
  }
  return nullptr;
}

const Json &
Json::at(const std::string & key) const
{
  const Json * j = find(key);
  if (!j)
  {
    throw JsonError("JSON object has no member '" + key + "'");
  }
  return *j;
}

bool
Json::contains(const std::string & key) const
{
  return find(key) != nullptr;
}

std::string
Json::value(const std::string & key, const std::string & fallback) const
{
  const Json * j = find(key);
  return (j && j->isString()) ? j->asString() : fallback;
}

double
Json::value(const std::string & key, double fallback) const
{
  const Json * j = find(key);
  return (j && j->isNumber()) ? j->asDouble() : fallback;
}

int64_t
Json::value(const std::string & key, int64_t fallback) const
{
  const Json * j = find(key);
  return (j && j->isNumber()) ? j->asInt() : fallback;
}

bool
Json::value(const std::string & key, bool fallback) const
{
  const Json * j = find(key);
  return (j && j->isBool()) ? j->asBool() : fallback;
}

void
Json::push_back(Json v)
{
  if (m_Type == Type::Null)
  {
    *this = array();
  }
  if (m_Type != Type::Array)
  {
    throw JsonError("JSON value is not an array");
  }
  if (m_Array.use_count() > 1)
  {
    m_Array = std::make_shared<Array>(*m_Array);
  }
  m_Array->push_back(std::move(v));
}

size_t
Json::size() const
{
  if (m_Type == Type::Array)
  {
    return m_Array->size();
  }
  if (m_Type == Type::Object)
  {
    return m_Object->size();
  }
  return 0;
}

const Json &
Json::operator[](size_t i) const
{
  const Array & a = asArray();
  if (i >= a.size())
  {
    throw JsonError("JSON array index out of range");
  }
  return a[i];
}

bool
Json::operator==(const Json & o) const
{
  if (m_Type != o.m_Type)
  {
    return false;
  }
  switch (m_Type)
  {
    case Type::Null:
      return true;
    case Type::Bool:
      return m_Bool == o.m_Bool;
    case Type::Number:
      return m_Number == o.m_Number;
    case Type::String:
      return m_String == o.m_String;
    case Type::Array:
      return *m_Array == *o.m_Array;
    case Type::Object:
      if (m_Object->size() != o.m_Object->size())
      {
        return false;
      }
      for (const auto & kv : *m_Object)
      {
        const Json * other = o.find(kv.first);
        if (!other || !(*other == kv.second))
        {
          return false;
        }
      }
      return true;
  }
  return false;
}

namespace
{

void
escapeString(const std::string & s, std::string & out)
{
  out += '"';
  for (unsigned char c : s)
  {
    switch (c)
    {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
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
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20)
        {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        }
        else
        {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

class Parser
{
public:
  explicit Parser(const std::string & t)
    : m_Text(t)
  {}

  Json
  parseDocument()
  {
    Json v = parseValue(0);
    skipWhitespace();
    if (m_Pos != m_Text.size())
    {
      fail("trailing characters");
    }
    return v;
  }

private:
  [[noreturn]] void
  fail(const std::string & what) const
  {
    throw JsonError("JSON parse error at offset " + std::to_string(m_Pos) + ": " + what);
  }

  void
  skipWhitespace()
  {
    while (m_Pos < m_Text.size() &&
           (m_Text[m_Pos] == ' ' || m_Text[m_Pos] == '\n' || m_Text[m_Pos] == '\r' || m_Text[m_Pos] == '\t'))
    {
      ++m_Pos;
    }
  }

  bool
  consume(const char * literal)
  {
    const size_t n = std::char_traits<char>::length(literal);
    if (m_Text.compare(m_Pos, n, literal) == 0)
    {
      m_Pos += n;
      return true;
    }
    return false;
  }

  Json
  parseValue(int depth)
  {
    if (depth > 512)
    {
      fail("nesting too deep");
    }
    skipWhitespace();
    if (m_Pos >= m_Text.size())
    {
      fail("unexpected end of text");
    }
    const char c = m_Text[m_Pos];
    if (c == '{')
    {
      ++m_Pos;
      Json obj = Json::object();
      skipWhitespace();
      if (m_Pos < m_Text.size() && m_Text[m_Pos] == '}')
      {
        ++m_Pos;
        return obj;
      }
      while (true)
      {
        skipWhitespace();
        if (m_Pos >= m_Text.size() || m_Text[m_Pos] != '"')
        {
          fail("expected a key string");
        }
        std::string key = parseString();
        skipWhitespace();
        if (m_Pos >= m_Text.size() || m_Text[m_Pos] != ':')
        {
          fail("expected ':'");
        }
        ++m_Pos;
        obj[key] = parseValue(depth + 1);
        skipWhitespace();
        if (m_Pos < m_Text.size() && m_Text[m_Pos] == ',')
        {
          ++m_Pos;
          continue;
        }
        if (m_Pos < m_Text.size() && m_Text[m_Pos] == '}')
        {
          ++m_Pos;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c == '[')
    {
      ++m_Pos;
      Json arr = Json::array();
      skipWhitespace();
      if (m_Pos < m_Text.size() && m_Text[m_Pos] == ']')
      {
        ++m_Pos;
        return arr;
      }
      while (true)
      {
        arr.push_back(parseValue(depth + 1));
        skipWhitespace();
        if (m_Pos < m_Text.size() && m_Text[m_Pos] == ',')
        {
          ++m_Pos;
          continue;
        }
        if (m_Pos < m_Text.size() && m_Text[m_Pos] == ']')
        {
          ++m_Pos;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c == '"')
    {
      return Json(parseString());
    }
    if (consume("true"))
    {
      return Json(true);
    }
    if (consume("false"))
    {
      return Json(false);
    }
    if (consume("null"))
    {
      return Json();
    }
    // Python's json module writes these for non-finite floats; accept them.
    if (consume("NaN"))
    {
      return Json(std::nan(""));
    }
    if (consume("Infinity"))
    {
      return Json(HUGE_VAL);
    }
    if (consume("-Infinity"))
    {
      return Json(-HUGE_VAL);
    }
    return parseNumber();
  }

  Json
  parseNumber()
  {
    const size_t start = m_Pos;
    bool         integral = true;
    if (m_Pos < m_Text.size() && (m_Text[m_Pos] == '-' || m_Text[m_Pos] == '+'))
    {
      ++m_Pos;
    }
    while (m_Pos < m_Text.size())
    {
      const char c = m_Text[m_Pos];
      if (c >= '0' && c <= '9')
      {
        ++m_Pos;
      }
      else if (c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+')
      {
        integral = false;
        ++m_Pos;
      }
      else
      {
        break;
      }
    }
    if (start == m_Pos)
    {
      fail(std::string("unexpected character '") + m_Text[m_Pos] + "'");
    }
    const std::string  token = m_Text.substr(start, m_Pos - start);
    std::istringstream is(token);
    is.imbue(std::locale::classic());
    double v = 0;
    is >> v;
    if (is.fail())
    {
      fail("bad number '" + token + "'");
    }
    Json j(v);
    if (integral)
    {
      j = Json(static_cast<int64_t>(v));
    }
    return j;
  }

  static void
  appendUtf8(uint32_t cp, std::string & out)
  {
    if (cp < 0x80)
    {
      out += static_cast<char>(cp);
    }
    else if (cp < 0x800)
    {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
    else if (cp < 0x10000)
    {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
    else
    {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  uint32_t
  parseHex4()
  {
    if (m_Pos + 4 > m_Text.size())
    {
      fail("truncated \\u escape");
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
    {
      const char c = m_Text[m_Pos++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        fail("bad \\u escape");
    }
    return v;
  }

  std::string
  parseString()
  {
    ++m_Pos; // opening quote
    std::string out;
    while (true)
    {
      if (m_Pos >= m_Text.size())
      {
        fail("unterminated string");
      }
      const char c = m_Text[m_Pos++];
      if (c == '"')
      {
        return out;
      }
      if (c != '\\')
      {
        out += c;
        continue;
      }
      if (m_Pos >= m_Text.size())
      {
        fail("unterminated escape");
      }
      const char e = m_Text[m_Pos++];
      switch (e)
      {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u':
        {
          uint32_t cp = parseHex4();
          if (cp >= 0xD800 && cp <= 0xDBFF && m_Pos + 6 <= m_Text.size() && m_Text[m_Pos] == '\\' &&
              m_Text[m_Pos + 1] == 'u')
          {
            m_Pos += 2;
            const uint32_t low = parseHex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          appendUtf8(cp, out);
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }

  const std::string & m_Text;
  size_t              m_Pos{ 0 };
};

} // namespace

Json
Json::parse(const std::string & text)
{
  return Parser(text).parseDocument();
}

void
Json::dumpTo(std::string & out, int indent, int level) const
{
  auto newline = [&](int lvl) {
    if (indent >= 0)
    {
      out += '\n';
      out.append(static_cast<size_t>(indent * lvl), ' ');
    }
  };
  switch (m_Type)
  {
    case Type::Null:
      out += "null";
      break;
    case Type::Bool:
      out += m_Bool ? "true" : "false";
      break;
    case Type::Number:
    {
      if (!std::isfinite(m_Number))
      {
        out += "null";
      }
      else if (m_Integral || (std::floor(m_Number) == m_Number && std::fabs(m_Number) < 1e15))
      {
        out += std::to_string(static_cast<int64_t>(m_Number));
      }
      else
      {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.17g", m_Number);
        // Shorter form when it round-trips.
        char shorter[32];
        std::snprintf(shorter, sizeof(shorter), "%.9g", m_Number);
        out += (std::strtod(shorter, nullptr) == m_Number) ? shorter : buf;
      }
      break;
    }
    case Type::String:
      escapeString(m_String, out);
      break;
    case Type::Array:
    {
      out += '[';
      bool first = true;
      for (const auto & v : *m_Array)
      {
        if (!first)
          out += ',';
        first = false;
        newline(level + 1);
        v.dumpTo(out, indent, level + 1);
      }
      if (!m_Array->empty())
        newline(level);
      out += ']';
      break;
    }
    case Type::Object:
    {
      out += '{';
      bool first = true;
      for (const auto & kv : *m_Object)
      {
        if (!first)
          out += ',';
        first = false;
        newline(level + 1);
        escapeString(kv.first, out);
        out += indent >= 0 ? ": " : ":";
        kv.second.dumpTo(out, indent, level + 1);
      }
      if (!m_Object->empty())
        newline(level);
      out += '}';
      break;
    }
  }
}

std::string
Json::dump(int indent) const
{
  std::string out;
  dumpTo(out, indent, 0);
  return out;
}

} // namespace rescrnet
