package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Secret is the cluster's JWT secret. A nil or empty Secret means
// authentication is off (development only).
type Secret []byte

// Enabled reports whether the secret is set.
func (s Secret) Enabled() bool { return len(s) > 0 }

// ReadSecretFile reads a JWT secret from a file, trimming surrounding white
// space. It fails when the file is missing, unreadable or empty.
func ReadSecretFile(path string) (Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read jwt secret: %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, fmt.Errorf("read jwt secret: %s is empty", path)
	}
	return Secret(b), nil
}

// ErrBadToken is returned for a missing, malformed, expired or wrongly
// signed token.
var ErrBadToken = errors.New("cluster: invalid or missing token")

// Claims are the claims of a token accepted by the cluster: superuser tokens
// carry server_id (intra-cluster calls), user tokens preferred_username.
type Claims struct {
	ServerID          string `json:"server_id,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	jwt.RegisteredClaims
}

// SuperuserToken signs a superuser token for serverID with the secret, as
// ArangoDB's servers do for intra-cluster requests (iss "arangodb", HS256).
func SuperuserToken(s Secret, serverID string) (string, error) {
	c := Claims{ServerID: serverID, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "arangodb", IssuedAt: jwt.NewNumericDate(time.Now()),
	}}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(s))
}

// UserToken signs a user token (what POST /_open/auth returns) valid for ttl.
func UserToken(s Secret, user string, ttl time.Duration) (string, error) {
	now := time.Now()
	c := Claims{PreferredUsername: user, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "arangodb", IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(s))
}

// VerifyToken checks a token's signature (HS256 only), issuer and expiry.
func VerifyToken(s Secret, token string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return []byte(s), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("arangodb"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	return &c, nil
}

// BearerToken extracts the token of an "Authorization: bearer …" header,
// accepting any case of the scheme (go-driver sends "bearer", arangojs
// "Bearer").
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

// VerifySuperuser checks that a request carries a valid superuser token. It
// is what agents and DBServers require of every request.
func VerifySuperuser(s Secret, r *http.Request) error {
	tok, ok := BearerToken(r)
	if !ok {
		return ErrBadToken
	}
	c, err := VerifyToken(s, tok)
	if err != nil {
		return err
	}
	if c.ServerID == "" {
		return fmt.Errorf("%w: not a superuser token", ErrBadToken)
	}
	return nil
}

// TokenSource hands out a superuser token for one server, re-signing it
// before it gets old. The zero value with a nil secret hands out "".
type TokenSource struct {
	Secret   Secret
	ServerID string

	mu      sync.Mutex
	token   string
	created time.Time
}

// Token returns a current superuser token, or "" when authentication is off.
func (t *TokenSource) Token() (string, error) {
	if !t.Secret.Enabled() {
		return "", nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == "" || time.Since(t.created) > time.Hour {
		tok, err := SuperuserToken(t.Secret, t.ServerID)
		if err != nil {
			return "", fmt.Errorf("sign token: %w", err)
		}
		t.token, t.created = tok, time.Now()
	}
	return t.token, nil
}

// Authorize sets the Authorization header of req when authentication is on.
func (t *TokenSource) Authorize(req *http.Request) error {
	tok, err := t.Token()
	if err != nil || tok == "" {
		return err
	}
	req.Header.Set("Authorization", "bearer "+tok)
	return nil
}
