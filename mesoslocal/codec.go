package mesoslocal

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gogo/protobuf/proto"
)

// Media types of the v1 HTTP APIs. The Content-Type comparison is exact, as
// in Mesos.
const (
	mediaJSON     = "application/json"
	mediaProtobuf = "application/x-protobuf"
)

// wireMessage is a mesos-go generated message: gogo protobuf plus ffjson.
type wireMessage interface {
	proto.Message
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
	MarshalJSON() ([]byte, error)
	UnmarshalJSON([]byte) error
}

// decodeError is a request that cannot be decoded: the HTTP status and the
// exact Mesos message.
type decodeError struct {
	status int
	msg    string
}

func (e *decodeError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

// decodeCall decodes a request body into m following Mesos's rules: a
// missing Content-Type is 400, protobuf and JSON are parsed with mesos-go's
// own codecs, any other type is 415. It returns nil or a *decodeError.
func decodeCall(contentType string, body []byte, m wireMessage) *decodeError {
	switch contentType {
	case "":
		return &decodeError{http.StatusBadRequest, "Expecting 'Content-Type' to be present"}
	case mediaProtobuf:
		if err := m.Unmarshal(body); err != nil {
			return &decodeError{http.StatusBadRequest, "Failed to parse body into Call protobuf"}
		}
		return nil
	case mediaJSON:
		var raw any
		if err := json.Unmarshal(body, &raw); err != nil {
			return &decodeError{http.StatusBadRequest, "Failed to parse body into JSON: " + err.Error()}
		}
		if _, ok := raw.(map[string]any); !ok {
			return &decodeError{http.StatusBadRequest, "Failed to convert JSON into Call protobuf: Expecting a JSON object"}
		}
		if err := m.UnmarshalJSON(body); err != nil {
			return &decodeError{http.StatusBadRequest, "Failed to convert JSON into Call protobuf: " + err.Error()}
		}
		return nil
	default:
		return &decodeError{http.StatusUnsupportedMediaType,
			"Expecting 'Content-Type' of application/json or application/x-protobuf"}
	}
}

// hasTopField reports whether the encoded call sets top-level field num:
// proto3-less mesos-go types cannot tell an explicit UNKNOWN type from a
// missing one, Mesos can.
func hasTopField(contentType string, body []byte, jsonName string, num uint64) bool {
	if contentType == mediaJSON {
		var raw map[string]json.RawMessage
		if json.Unmarshal(body, &raw) != nil {
			return false
		}
		v, ok := raw[jsonName]
		return ok && string(v) != "null"
	}
	b := proto.NewBuffer(body)
	for {
		key, err := b.DecodeVarint()
		if err != nil {
			return false
		}
		if key>>3 == num {
			return true
		}
		switch key & 7 {
		case 0:
			_, err = b.DecodeVarint()
		case 1:
			_, err = b.DecodeFixed64()
		case 2:
			_, err = b.DecodeRawBytes(false)
		case 5:
			_, err = b.DecodeFixed32()
		default:
			return false
		}
		if err != nil {
			return false
		}
	}
}

// negotiate picks the response media type of a streaming call from the
// Accept headers: JSON when acceptable (a missing Accept accepts it),
// otherwise protobuf, otherwise "" (406).
func negotiate(h http.Header) string {
	values := h.Values("Accept")
	if len(values) == 0 {
		return mediaJSON
	}
	q := map[string]float64{}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			weight := 1.0
			if s, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(s, 64); err == nil {
					weight = f
				}
			}
			if old, ok := q[mt]; !ok || weight > old {
				q[mt] = weight
			}
		}
	}
	accepts := func(t string) bool {
		for _, k := range []string{t, "application/*", "*/*"} {
			if w, ok := q[k]; ok {
				return w > 0
			}
		}
		return false
	}
	switch {
	case accepts(mediaJSON):
		return mediaJSON
	case accepts(mediaProtobuf):
		return mediaProtobuf
	}
	return ""
}

// encodeEvent encodes an event in the stream's media type.
func encodeEvent(mediaType string, m wireMessage) ([]byte, error) {
	if mediaType == mediaProtobuf {
		return m.Marshal()
	}
	return json.Marshal(m)
}

// readCall reads a POST body; it answers 405 or 400 itself and returns
// false then.
func readCall(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		plainError(w, http.StatusMethodNotAllowed, "")
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		plainError(w, http.StatusBadRequest, "Failed to read body: "+err.Error())
		return nil, false
	}
	return body, true
}

// plainError writes a Mesos-style error answer: text/plain body.
func plainError(w http.ResponseWriter, status int, msg string) {
	if msg == "" {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}
