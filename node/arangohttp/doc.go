// Package arangohttp holds the HTTP conventions that every database node role
// (agent, coordinator, DBServer) shares with ArangoDB: error bodies of the form
// {"error":true,"code":…,"errorNum":…,"errorMessage":…}, ArangoDB's error
// numbers, JSON responses with Content-Type application/json, and bounded,
// strict decoding of request bodies. It is the one place where node errors
// become HTTP answers.
package arangohttp
