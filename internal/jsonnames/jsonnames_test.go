package jsonnames

import (
	"errors"
	"testing"
)

func TestFold(t *testing.T) {
	for _, pair := range [][2]string{
		{"sub", "SUB"}, {"sub", "ſub"}, {"kid", "\u212aid"}, {"å", "\u212b"}, {"Straße", "STRAßE"},
	} {
		if Fold(pair[0]) != Fold(pair[1]) {
			t.Errorf("%q and %q fold apart", pair[0], pair[1])
		}
	}
	for _, pair := range [][2]string{{"sub", "sud"}, {"i", "ı"}, {"exp", "exp "}, {"ss", "ß"}} {
		if Fold(pair[0]) == Fold(pair[1]) {
			t.Errorf("%q and %q fold together", pair[0], pair[1])
		}
	}
}

func TestRepeated(t *testing.T) {
	for _, tc := range []struct {
		in  string
		rep *Repetition
		err error
	}{
		{in: `{"a":1,"b":{"a":2},"c":[{"a":3}]}`},
		{in: `[{"x":1},{"x":2}]`},
		{in: `"plain"`},
		{in: ` {} `},
		{in: `{"email":"a","email":"b"}`, rep: &Repetition{"email", "email"}},
		{in: `{"EXP":1,"exp":2}`, rep: &Repetition{"EXP", "exp"}},
		{in: `{"data":{"sub":"a","ſub":"b"}}`, rep: &Repetition{"sub", "ſub"}},
		{in: `{"a":[1,{"k":1,"K":2}]}`, rep: &Repetition{"k", "K"}},
		{in: `{"":1,"":2}`, rep: &Repetition{"", ""}},
		{in: `{"a":1,"a":2,"b":1,"b":2}`, rep: &Repetition{"a", "a"}},
		{in: `{"a":1} {"b":2}`, err: ErrSyntax},
		{in: `{"a":1,}`, err: ErrSyntax},
		{in: `{"a":`, err: ErrSyntax},
		{in: ``, err: ErrSyntax},
	} {
		rep, err := Repeated([]byte(tc.in))
		if !errors.Is(err, tc.err) || (rep == nil) != (tc.rep == nil) || (rep != nil && *rep != *tc.rep) {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tc.in, rep, err, tc.rep, tc.err)
		}
	}
}
