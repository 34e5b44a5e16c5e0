// SPDX-License-Identifier: Apache-2.0
// Small text helpers shared by the modules: error messages on one line, trimming, XML escaping, comma-separated
// values.
#ifndef rescrnet_TextUtilities_h
#define rescrnet_TextUtilities_h

#include <string>
#include <vector>

namespace rescrnet
{

// An exception's text on one line, fit for a user: for ITK's "file:line:\nITK ERROR: ..." what follows
// "ITK ERROR: ", LibTorch's backtrace ("Exception raised from ...", "frame #0: ...") dropped, the remaining lines
// trimmed and joined with spaces. "unknown error" when nothing is left.
std::string
OneLine(const std::string & text);

// `text` without leading and trailing white space (space, tab, CR, LF).
std::string
Trim(const std::string & text);

// `text` for XML element content: &, < and > escaped; line breaks become spaces (the content of Slicer's XML
// descriptions and progress tags is one line).
std::string
EscapeXML(const std::string & text);

// The comma-separated items of `text`, each trimmed; none for blank text; "a," gives "a" and "".
std::vector<std::string>
SplitComma(const std::string & text);

} // namespace rescrnet

#endif
