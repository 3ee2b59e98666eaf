// Exception types thrown by the senti library. Callers (CLI, HTTP service) map them to exit codes and
// HTTP statuses; the library never aborts the process on bad input.
#pragma once

#include <stdexcept>
#include <string>

namespace senti {

// Base of every error the library raises on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The caller's input is unusable: invalid UTF-8, empty text, a bad option. HTTP maps it to 400/422.
class InvalidInputError : public Error {
 public:
  using Error::Error;
};

// A model folder or file is malformed, incomplete or asks for something senti does not implement.
// The message names the file, and where relevant the tensor and the shape it should have.
class ModelError : public Error {
 public:
  using Error::Error;
};

}  // namespace senti
