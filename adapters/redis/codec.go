package redis

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// decode unmarshals one stored JSON value.
func decode[T any](what, data string) (T, error) {
	var v T
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		return v, fmt.Errorf("redis: decode %s: %w", what, err)
	}
	return v, nil
}

// optional decodes the reply of a GET or HGET, nil when the key or field is
// missing.
func optional[T any](op string, cmd *redis.StringCmd) (*T, error) {
	data, err := cmd.Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	v, err := decode[T](op, data)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// required decodes the reply of a GET or HGET; a missing key or field is an
// error wrapping engine.ErrNotFound.
func required[T any](op string, cmd *redis.StringCmd) (T, error) {
	data, err := cmd.Result()
	if err != nil {
		var zero T
		return zero, wrap(op, err)
	}
	return decode[T](op, data)
}

// decodeAll decodes the values of a hash, in the order given.
func decodeAll[T any](what string, values []string) ([]T, error) {
	out := make([]T, 0, len(values))
	for _, data := range values {
		v, err := decode[T](what, data)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// execPipe runs a pipeline. A missing key in one command is no failure of
// the pipeline: each command's own error is checked when its reply is read.
func execPipe(op string, err error) error {
	if err != nil && !errors.Is(err, redis.Nil) {
		return wrap(op, err)
	}
	return nil
}
