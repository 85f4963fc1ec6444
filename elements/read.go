package elements

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// MaxJSONDepth bounds how deeply a JSON file may nest objects and arrays.
// Deeper documents are refused before any parser walks them: a few MiB of
// "[" would otherwise keep a recursive parser busy for minutes.
const MaxJSONDepth = 64

var errTooLarge = errors.New("file larger than 4 MiB")

// ErrTooDeep is returned by CheckJSON for documents nested deeper than
// MaxJSONDepth.
var ErrTooDeep = fmt.Errorf("JSON nested deeper than %d levels", MaxJSONDepth)

// ReadFile reads an element, config or app file of fsys. Only regular files
// (or symlinks to one) are read: a named pipe would block forever and a
// device such as /dev/zero never ends. The read goes through a limit, so a
// file that grows or lies about its size is still bounded by 4 MiB.
//
// fs.FS cannot pass O_NONBLOCK, so the mode is checked before opening and
// again on the opened file.
func ReadFile(fsys fs.FS, name string) ([]byte, error) {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(fi); err != nil {
		return nil, err
	}
	if fi.Size() > maxFileSize {
		return nil, errTooLarge
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if err := checkRegular(fi); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxFileSize {
		return nil, errTooLarge
	}
	return raw, nil
}

func checkRegular(fi fs.FileInfo) error {
	m := fi.Mode()
	switch {
	case m.IsRegular():
		return nil
	case m.IsDir():
		return errors.New("is a folder, not a file")
	case m&fs.ModeNamedPipe != 0:
		return errors.New("not a regular file (named pipe)")
	case m&fs.ModeSocket != 0:
		return errors.New("not a regular file (socket)")
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return errors.New("not a regular file (device)")
	}
	return errors.New("not a regular file")
}

var utf8BOM = []byte("\xEF\xBB\xBF")

// CheckJSON prepares raw JSON for parsing: a UTF-8 byte-order mark at the
// start is stripped, and nesting deeper than MaxJSONDepth is refused. It
// scans the bytes once, counting brackets outside strings; it does not
// otherwise validate the document.
func CheckJSON(raw []byte) ([]byte, error) {
	raw = bytes.TrimPrefix(raw, utf8BOM)
	depth := 0
	inStr, esc := false, false
	for _, c := range raw {
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
			if depth > MaxJSONDepth {
				return nil, ErrTooDeep
			}
		case '}', ']':
			if depth > 0 {
				depth--
			}
		}
	}
	return raw, nil
}

// ReadJSONFile is ReadFile followed by CheckJSON. Read errors come back as
// they are; a document nested too deeply returns ErrTooDeep.
func ReadJSONFile(fsys fs.FS, name string) ([]byte, error) {
	raw, err := ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	return CheckJSON(raw)
}
