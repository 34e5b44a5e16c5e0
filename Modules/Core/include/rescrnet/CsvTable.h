// SPDX-License-Identifier: Apache-2.0
// CSV with RFC 4180's quoting: a cell holding a comma, a double quote, CR or LF is enclosed in double quotes, with its
// quotes doubled, so that any file name or message survives a round trip. Records end in LF (the project's text files
// and Unix tools expect it; RFC 4180 readers, Python's csv module and spreadsheets accept it); the reader takes LF and
// CRLF. The project's one CSV writer (training history, batch results, evaluation tables) and reader (split files).
#ifndef rescrnet_CsvTable_h
#define rescrnet_CsvTable_h

#include <istream>
#include <stdexcept>
#include <string>
#include <vector>

namespace rescrnet
{

class CsvTable
{
public:
  explicit CsvTable(std::vector<std::string> header);

  // Appends a record; throws std::invalid_argument when it has more cells than the header (fewer are padded).
  CsvTable &
  addRow(std::vector<std::string> cells);

  const std::vector<std::string> &
  header() const
  {
    return m_Header;
  }
  size_t
  rowCount() const
  {
    return m_Rows.size();
  }

  // The table as CSV text.
  std::string
  text() const;

  // Writes text() atomically (rescrnet::WriteFileAtomically); throws AtomicFileError.
  void
  write(const std::string & path) const;

  // A number as a cell: `precision` significant digits (C++ streams' default formatting).
  static std::string
  number(double value, int precision = 6);

  // `cell` quoted when RFC 4180 requires it.
  static std::string
  quote(const std::string & cell);

private:
  std::vector<std::string>              m_Header;
  std::vector<std::vector<std::string>> m_Rows;
};

// The records of RFC 4180 text (quoted cells may hold commas, doubled quotes and line breaks; CRLF or LF line ends).
// Throws std::invalid_argument on an unterminated quoted cell.
std::vector<std::vector<std::string>>
ReadCsvRecords(std::istream & in);

} // namespace rescrnet

#endif
