package elements

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// JSONSyntax says where and why raw is not valid JSON, for a message such
// as "not valid JSON: line 3, column 5: trailing comma before }". It
// names the common mistakes of hand-edited files (comments, trailing
// commas, single quotes, unquoted keys) in words. It returns "" when raw
// is valid JSON.
func JSONSyntax(raw []byte) string {
	raw = bytes.TrimPrefix(raw, utf8BOM)
	var v any
	err := json.Unmarshal(raw, &v)
	if err == nil {
		return ""
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return "the file is empty"
	}
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return err.Error()
	}
	off := int(se.Offset) - 1 // the offending byte
	if off < 0 {
		off = 0
	}
	if off >= len(raw) || se.Error() == "unexpected end of JSON input" {
		return endMessage(raw)
	}
	if bytes.Contains([]byte(se.Error()), []byte("after top-level value")) {
		return position(raw, off) + ": text after the end of the JSON value (an extra } or ]?)"
	}
	return fmt.Sprintf("%s: %s", position(raw, off), reason(raw, off, se.Error()))
}

func endMessage(raw []byte) string {
	end := len(bytes.TrimRight(raw, " \t\r\n"))
	pos := position(raw, end)
	if inString(raw[:end]) {
		return pos + ": the file ends inside a string (a missing closing quote?)"
	}
	return pos + ": the file ends too early (a missing } or ]?)"
}

// position is "line L, column C" of byte offset off, both counted from 1,
// columns in characters.
func position(raw []byte, off int) string {
	if off > len(raw) {
		off = len(raw)
	}
	line := bytes.Count(raw[:off], []byte("\n")) + 1
	start := bytes.LastIndexByte(raw[:off], '\n') + 1
	col := utf8.RuneCount(raw[start:off]) + 1
	return fmt.Sprintf("line %d, column %d", line, col)
}

// inString reports whether raw ends inside a JSON string.
func inString(raw []byte) bool {
	in, esc := false, false
	for _, c := range raw {
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		}
	}
	return in
}

func reason(raw []byte, off int, _ string) string {
	c := raw[off]
	prev := bytes.TrimRight(raw[:off], " \t\r\n")
	switch {
	case c == '/' && off+1 < len(raw) && (raw[off+1] == '/' || raw[off+1] == '*'):
		return "JSON has no comments (remove the " + string(raw[off:off+2]) + " comment)"
	case c == '/':
		return "unexpected / (JSON has no comments)"
	case (c == '}' || c == ']') && len(prev) > 0 && prev[len(prev)-1] == ',':
		return fmt.Sprintf("trailing comma before %c (remove the last comma)", c)
	case (c == '}' || c == ']' || c == ',') && len(prev) > 0 && prev[len(prev)-1] == ':':
		return "a value is missing after the colon"
	case c == '\'':
		return "strings and keys need double quotes, not single quotes"
	case c == '\n' || c == '\r':
		return "line break inside a string (a missing closing quote?)"
	case c < 0x20:
		return "control character inside a string (write it escaped, like \\t)"
	case c == '"' && len(prev) > 0 && (prev[len(prev)-1] == '"' || prev[len(prev)-1] == '}' || prev[len(prev)-1] == ']' || isValueEnd(prev[len(prev)-1])):
		return "missing comma before this value"
	case (c == '{' || c == '[') && len(prev) > 0 && (prev[len(prev)-1] == '"' || prev[len(prev)-1] == '}' || prev[len(prev)-1] == ']'):
		return "missing comma before this value"
	case isIdentStart(c) && len(prev) > 0 && (prev[len(prev)-1] == '{' || prev[len(prev)-1] == ','):
		return "keys need double quotes"
	case isIdentStart(c):
		return "strings need double quotes (true, false and null are the only bare words)"
	}
	return "unexpected " + quoteByte(c)
}

func isValueEnd(c byte) bool { return c >= '0' && c <= '9' || c == 'e' || c == 'l' }

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$' || c >= 0x80
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", string(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// invalidJSON is the problem message for a file that is not valid JSON.
func invalidJSON(raw []byte) string {
	if s := JSONSyntax(raw); s != "" {
		return "not valid JSON: " + s
	}
	return "not valid JSON"
}
