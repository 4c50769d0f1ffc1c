#ifndef LAVA_RUNNER_CCURL_SHIM_H
#define LAVA_RUNNER_CCURL_SHIM_H

#include <curl/curl.h>

// curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic, which Swift cannot
// call. These typed wrappers fix the argument type per option family instead.

static inline CURLcode lr_easy_setopt_long(CURL *handle, CURLoption option, long value) {
  return curl_easy_setopt(handle, option, value);
}

static inline CURLcode lr_easy_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
  return curl_easy_setopt(handle, option, value);
}

static inline CURLcode lr_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
  return curl_easy_setopt(handle, option, value);
}

static inline CURLcode lr_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
  return curl_easy_setopt(handle, option, value);
}

static inline CURLcode lr_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
  return curl_easy_setopt(handle, option, value);
}

typedef size_t (*lr_data_callback)(char *buffer, size_t size, size_t count, void *userdata);
static inline CURLcode lr_easy_setopt_data_callback(CURL *handle, CURLoption option, lr_data_callback callback) {
  return curl_easy_setopt(handle, option, callback);
}

typedef int (*lr_xferinfo_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);
static inline CURLcode lr_easy_setopt_xferinfo_callback(CURL *handle, lr_xferinfo_callback callback) {
  return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback);
}

typedef int (*lr_seek_callback)(void *userdata, curl_off_t offset, int origin);
static inline CURLcode lr_easy_setopt_seek_callback(CURL *handle, lr_seek_callback callback) {
  return curl_easy_setopt(handle, CURLOPT_SEEKFUNCTION, callback);
}

// Macros built from casts or other macros do not reach Swift; these expose their values.
static inline size_t lr_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline size_t lr_readfunc_abort(void) { return CURL_READFUNC_ABORT; }
static inline int lr_pause_cont(void) { return CURLPAUSE_CONT; }
static inline size_t lr_error_size(void) { return CURL_ERROR_SIZE; }

static inline CURLcode lr_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
  return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode lr_easy_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value) {
  return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode lr_easy_getinfo_string(CURL *handle, CURLINFO info, char **value) {
  return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode lr_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
  return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode lr_easy_getinfo_socket(CURL *handle, curl_socket_t *value) {
  return curl_easy_getinfo(handle, CURLINFO_ACTIVESOCKET, value);
}

static inline CURLMcode lr_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
  return curl_multi_setopt(multi, option, value);
}

#endif
