// SPDX-License-Identifier: Apache-2.0
// Writes a Keras-style "_all.h5" file for the fuzz seeds (make_keras_seeds.py): argv[1] the file, argv[2] "1" for a
// variable-length UTF-8 model_config (h5py 3) or "0" for a fixed-length one. Standard input: the model config JSON on
// the first line, then one weight per line, "layer kind rank d0 d1 ...", filled with small deterministic values.
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
string_attribute(hid_t loc, const char * name, const char * value, int variable)
{
  hid_t type = H5Tcopy(H5T_C_S1);
  if (variable)
  {
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
  }
  else
    H5Tset_size(type, strlen(value) + 1);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(attr, type, variable ? (const void *)&value : (const void *)value);
  H5Aclose(attr);
  H5Sclose(space);
  H5Tclose(type);
}

int
main(int argc, char ** argv)
{
  if (argc != 3)
    return 2;
  static char config[1 << 20];
  if (!fgets(config, sizeof config, stdin))
    return 1;
  config[strcspn(config, "\n")] = 0;
  hid_t file = H5Fcreate(argv[1], H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  string_attribute(file, "model_config", config, atoi(argv[2]));
  string_attribute(file, "keras_version", "2.4.0", 0);
  hid_t weights = H5Gcreate2(file, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hid_t links = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(links, 1);
  char         layer[128], kind[64], previous[128] = "";
  int          rank, serial = 0;
  hid_t        group = -1;
  char         names[8][192];
  int          count = 0;
  while (scanf("%127s %63s %d", layer, kind, &rank) == 3)
  {
    hsize_t dims[4];
    size_t  n = 1;
    for (int i = 0; i < rank; ++i)
    {
      unsigned long long d;
      if (scanf("%llu", &d) != 1)
        return 1;
      dims[i] = d;
      n *= d;
    }
    if (strcmp(layer, previous) != 0)
    {
      if (group >= 0)
      {
        hid_t type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, 192);
        hsize_t size = (hsize_t)count;
        hid_t   space = H5Screate_simple(1, &size, NULL);
        hid_t   attr = H5Acreate2(group, "weight_names", type, space, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(attr, type, names);
        H5Aclose(attr);
        H5Sclose(space);
        H5Tclose(type);
        H5Gclose(group);
      }
      group = H5Gcreate2(weights, layer, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      strcpy(previous, layer);
      count = 0;
      memset(names, 0, sizeof names);
    }
    snprintf(names[count++], 192, "%s/%s:0", layer, kind);
    float * values = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; ++i)
      values[i] = strcmp(kind, "moving_variance") == 0 || strcmp(kind, "gamma") == 0
                    ? 1.0f
                    : (float)((serial++ % 17) - 8) / 64.0f;
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t ds = H5Dcreate2(group, names[count - 1], H5T_IEEE_F32LE, space, links, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
    H5Dclose(ds);
    H5Sclose(space);
    free(values);
  }
  if (group >= 0)
  {
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 192);
    hsize_t size = (hsize_t)count;
    hid_t   space = H5Screate_simple(1, &size, NULL);
    hid_t   attr = H5Acreate2(group, "weight_names", type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attr, type, names);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    H5Gclose(group);
  }
  H5Pclose(links);
  H5Gclose(weights);
  H5Fclose(file);
  return 0;
}
