/* Placeholder translation unit for a module with no sources yet. */
typedef int vigil_empty_module_t;
