// The cudnn-frontend headers as this backend uses them: cuDNN resolved at run time through
// dlopen (never linked), and without the frontend's JSON serialisation.
#pragma once

#ifndef NV_CUDNN_FRONTEND_USE_DYNAMIC_LOADING
#define NV_CUDNN_FRONTEND_USE_DYNAMIC_LOADING
#endif
#ifndef CUDNN_FRONTEND_SKIP_JSON_LIB
#define CUDNN_FRONTEND_SKIP_JSON_LIB
#endif

#include <cudnn_frontend.h>
