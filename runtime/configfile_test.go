package runtime_test

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestConfigCopiedFromAnotherElement: an element folder holding another
// element's config file (ThirdWidget/MyWidget.json) hears that the file is
// not read and which file is, and the "required" error names that file
// and says it does not exist yet.
func TestConfigCopiedFromAnotherElement(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "things", "ThirdWidget", "e.json"), `{"type":"`+WidgetType+`"}`)
	writeFile(t, filepath.Join(dir, "things", "ThirdWidget", "MyWidget.json"), `{"size":1}`)
	got := problemLines(open(t, dir).Snapshot().Problems())
	want := []string{
		"error things/ThirdWidget/ThirdWidget.json: size: required (this file does not exist yet)",
		"warning things/ThirdWidget/MyWidget.json: not read: the business config file of this element is ThirdWidget.json (rename MyWidget.json to ThirdWidget.json?)",
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n got  %q\n want %q", got, want)
	}
}
