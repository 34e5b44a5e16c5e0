// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/CsvTable.h"

#include "rescrnet/AtomicFile.h"

#include <locale>
#include <sstream>

namespace rescrnet
{

CsvTable::CsvTable(std::vector<std::string> header)
  : m_Header(std::move(header))
{}

CsvTable &
CsvTable::addRow(std::vector<std::string> cells)
{
  if (cells.size() > m_Header.size())
    throw std::invalid_argument("CSV record of " + std::to_string(cells.size()) + " cells for " +
                                std::to_string(m_Header.size()) + " columns");
  cells.resize(m_Header.size());
  m_Rows.push_back(std::move(cells));
  return *this;
}

std::string
CsvTable::quote(const std::string & cell)
{
  if (cell.find_first_of(",\"\r\n") == std::string::npos)
    return cell;
  std::string out = "\"";
  for (char c : cell)
  {
    if (c == '"')
      out += '"';
    out += c;
  }
  return out + '"';
}

std::string
CsvTable::number(double value, int precision)
{
  std::ostringstream s;
  s.imbue(std::locale::classic());
  s.precision(precision);
  s << value;
  return s.str();
}

std::string
CsvTable::text() const
{
  std::string out;
  const auto  record = [&out](const std::vector<std::string> & cells) {
    for (size_t i = 0; i < cells.size(); ++i)
      out += (i ? "," : "") + quote(cells[i]);
    out += '\n';
  };
  record(m_Header);
  for (const auto & row : m_Rows)
    record(row);
  return out;
}

void
CsvTable::write(const std::string & path) const
{
  WriteFileAtomically(path, text());
}

std::vector<std::vector<std::string>>
ReadCsvRecords(std::istream & in)
{
  std::vector<std::vector<std::string>> records;
  std::vector<std::string>              record;
  std::string                           cell;
  bool                                  quoted = false;    // inside a quoted cell
  bool                                  wasQuoted = false; // the current cell was quoted
  bool                                  pending = false;   // a record has begun
  const auto                            endCell = [&] {
    record.push_back(cell);
    cell.clear();
    wasQuoted = false;
  };
  const auto endRecord = [&] {
    endCell();
    records.push_back(std::move(record));
    record.clear();
    pending = false;
  };
  char c = 0;
  while (in.get(c))
  {
    if (quoted)
    {
      if (c == '"')
      {
        if (in.peek() == '"')
        {
          in.get(c);
          cell += '"';
        }
        else
          quoted = false;
      }
      else
        cell += c;
      continue;
    }
    if (c == '"' && cell.empty() && !wasQuoted)
    {
      quoted = wasQuoted = pending = true;
    }
    else if (c == ',')
    {
      endCell();
      pending = true;
    }
    else if (c == '\n')
    {
      // A blank line is no record.
      if (pending || !cell.empty() || !record.empty())
        endRecord();
    }
    else if (c != '\r')
    {
      cell += c;
      pending = true;
    }
  }
  if (quoted)
    throw std::invalid_argument("CSV text ends inside a quoted cell");
  if (pending || !cell.empty() || !record.empty())
    endRecord();
  return records;
}

} // namespace rescrnet
